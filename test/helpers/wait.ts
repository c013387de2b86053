// Tests wait the way every process does: platform/wait.ts.
export { delay, holdsFor, waitFor, WaitTimeoutError, type WaitOptions } from '../../platform/wait.js';

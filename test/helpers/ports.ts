/** Free TCP ports for test servers: the launcher's own helpers, so tests and `arcfleet up` agree. */
export { canConnect, freePort } from '../../fleet/ports.js';

/** Where the repository and its build are, for tests that run the CLI or read shipped files. */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const DIST_DIR = join(REPO_ROOT, 'dist');

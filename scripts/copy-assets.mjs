// Copies what tsc does not emit (the hub's static page, the built-in catalogues) into dist/.
import { cpSync, rmSync } from 'node:fs';
import { URL, fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = `${root}dist/services/hub/live/page`;
rmSync(target, { recursive: true, force: true });
cpSync(`${root}services/hub/live/page`, target, { recursive: true });

// Data files beside the platform modules (the built-in extension catalog and agent releases).
for (const file of ['extension-catalog.yaml', 'agent-releases.yaml'])
  cpSync(`${root}platform/${file}`, `${root}dist/platform/${file}`);

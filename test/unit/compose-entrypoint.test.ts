/**
 * The arcfleet image's entry point (deploy/compose/entrypoint.sh) gives every service of a compose
 * fleet the same clock epoch through a file on a shared volume: the first writer wins, atomically.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ENTRYPOINT = fileURLToPath(new URL('../../deploy/compose/entrypoint.sh', import.meta.url));
const run = promisify(execFile);
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arcfleet-entrypoint-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The epoch the command sees, through the entry point. */
async function epochSeen(env: Record<string, string>): Promise<string> {
  const { PATH = '' } = process.env;
  const { stdout } = await run('sh', [ENTRYPOINT, 'sh', '-c', 'printf %s "$ARCFLEET_CLOCK_EPOCH_MS"'], {
    env: { PATH, ...env },
  });
  return stdout;
}

describe('compose entry point: shared clock epoch', () => {
  it('the first service writes the epoch, concurrent and later ones read the same', async () => {
    const file = join(dir, 'epoch-ms');
    const before = Date.now();
    const seen = await Promise.all(
      Array.from({ length: 8 }, () => epochSeen({ ARCFLEET_CLOCK_EPOCH_FILE: file })),
    );
    expect(new Set(seen).size).toBe(1);
    const epoch = Number(seen[0]);
    expect(epoch).toBeGreaterThanOrEqual(before);
    expect(epoch).toBeLessThanOrEqual(Date.now());
    expect(await readFile(file, 'utf8')).toBe(seen[0]);
    expect(await readdir(dir)).toEqual(['epoch-ms']); // no temporary file left behind
    expect(await epochSeen({ ARCFLEET_CLOCK_EPOCH_FILE: file })).toBe(seen[0]);
  });

  it('an explicit ARCFLEET_CLOCK_EPOCH_MS wins and writes nothing', async () => {
    const file = join(dir, 'epoch-ms');
    expect(await epochSeen({ ARCFLEET_CLOCK_EPOCH_FILE: file, ARCFLEET_CLOCK_EPOCH_MS: '1234' })).toBe(
      '1234',
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('without a file setting, leaves the environment alone', async () => {
    expect(await epochSeen({})).toBe('');
  });
});

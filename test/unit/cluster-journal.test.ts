import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterChangeReader, ClusterJournal, parseClusters } from '../../agent-runtime/cluster-journal.js';
import { ClusterScan } from '../../agent-runtime/cluster-scan.js';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import type { FileVersions } from '../../agent-runtime/cluster-versions.js';
import { clusterState } from '../helpers/fixtures.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function tempDir(): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'cluster-journal-'));
  return dir;
}

const names = (r: ReturnType<ClusterChangeReader['read']>): string[] | string =>
  r.kind === 'changes' ? [...r.clusters].sort() : `rescan:${r.reason}`;

describe('cluster change journal', () => {
  it('names the clusters whose watched files the store wrote, once each', async () => {
    const store = new ClusterStore(await tempDir());
    const reader = store.changeReader();
    expect(names(reader.read())).toBe('rescan:first');
    await store.writeState(clusterState('c1'));
    await store.writeState(clusterState('c2'));
    await store.writeOnboarding('c1', {
      resourceId: '/x',
      privateKeyPem: 'k',
      publicKey: 'p',
      bootstrapToken: 't',
      hubUrl: 'http://h',
    });
    expect(names(reader.read())).toEqual(['c1', 'c2']);
    expect(names(reader.read())).toEqual([]);
    await store.remove('c2');
    await store.deleteSecret('c1', 'azure-arc-broker-credentials'); // not watched: no line
    expect(names(reader.read())).toEqual(['c2']);
    expect(names(reader.read())).toEqual([]);
  });

  it('reads only whole lines: a line still being written comes next time', async () => {
    const path = join(await tempDir(), 'journal');
    await writeFile(path, 'state a\n');
    const reader = new ClusterChangeReader(path);
    reader.read();
    await appendFile(path, 'state b\nidentity c');
    expect(names(reader.read())).toEqual(['b']);
    await appendFile(path, '\n');
    expect(names(reader.read())).toEqual(['c']);
  });

  it('asks for a full scan when the journal is rotated, and reads the new one after', async () => {
    const path = join(await tempDir(), 'run', 'journal');
    const journal = new ClusterJournal(path, 64);
    const reader = new ClusterChangeReader(path);
    expect(names(reader.read())).toBe('rescan:first'); // no journal yet
    await journal.append('a', 'state'); // creates run/ and the journal
    expect(names(reader.read())).toEqual(['a']);
    for (let i = 0; i < 8; i++) await journal.append(`cluster-${i}`, 'state'); // past 64 bytes: rotated
    expect(names(reader.read())).toMatch(/^rescan:/);
    await journal.append('b', 'identity');
    const next = names(reader.read());
    expect(next === 'rescan:replaced' || (Array.isArray(next) && next.includes('b'))).toBe(true);
    await journal.append('c', 'state');
    expect(names(reader.read())).toEqual(['c']);
  });

  it('asks for a full scan when the journal shrank or was replaced', async () => {
    const path = join(await tempDir(), 'journal');
    await writeFile(path, 'state a\nstate b\n');
    const reader = new ClusterChangeReader(path);
    reader.read();
    await truncate(path, 0);
    expect(names(reader.read())).toBe('rescan:truncated');
    await appendFile(path, 'state c\n');
    expect(names(reader.read())).toEqual(['c']);
    await rm(path);
    await writeFile(path, 'state d\n');
    expect(names(reader.read())).toBe('rescan:replaced');
    expect(names(reader.read())).toEqual([]);
  });

  it('sees a line appended by another process', async () => {
    const path = join(await tempDir(), 'journal');
    await writeFile(path, '');
    const reader = new ClusterChangeReader(path);
    reader.read();
    const code = `require('node:fs').appendFileSync(${JSON.stringify(path)}, 'state from-child\\n')`;
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', code], { stdio: 'inherit' });
      child.once('error', reject);
      child.once('exit', (c) => (c === 0 ? resolve() : reject(new Error(`child exited ${c}`))));
    });
    expect(names(reader.read())).toEqual(['from-child']);
  });

  it('parses lines, skipping malformed ones', () => {
    expect([...parseClusters('state a\n\nbad\nidentity b\nremoved \n')]).toEqual(['a', 'b']);
  });
});

describe('ClusterScan', () => {
  it('stats only journaled clusters, and every cluster on the periodic rescan', async () => {
    const store = new ClusterStore(await tempDir());
    let now = 0;
    const scan = new ClusterScan(store, { rescanIntervalMs: 60_000, now: () => now });
    await store.writeState(clusterState('c1'));
    await store.writeState(clusterState('c2'));
    const entries = new Map<string, { versions: FileVersions }>();
    const first = await scan.look(entries);
    expect([...first.seen.keys()].sort()).toEqual(['c1', 'c2']);
    for (const [name, versions] of first.seen) entries.set(name, { versions });

    now = 1000;
    expect((await scan.look(entries)).seen.size).toBe(0); // nothing changed: nothing stat'ed

    await store.writeState(clusterState('c2', { generation: 1 }));
    await store.remove('c1');
    now = 2000;
    const changed = await scan.look(entries);
    expect([...changed.seen.keys()]).toEqual(['c2']); // c1 gone: known, not seen = removed
    expect([...changed.known.keys()].sort()).toEqual(['c1', 'c2']);
    expect(changed.seen.get('c2')?.state).not.toBe(entries.get('c2')?.versions.state);
    entries.delete('c1');
    entries.set('c2', { versions: changed.seen.get('c2') as FileVersions });

    // A hand edit bypasses the journal: seen on the periodic full scan.
    await writeFile(join(store.dir('c2'), 'cluster.json'), JSON.stringify(clusterState('c2')));
    now = 3000;
    expect((await scan.look(entries)).seen.size).toBe(0);
    now = 62_000;
    const full = await scan.look(entries);
    expect(scan.fullScans).toBe(2);
    expect(full.seen.get('c2')?.state).not.toBe(entries.get('c2')?.versions.state);
  });
});

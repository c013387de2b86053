/**
 * The Flux log on the cluster (numbering across restarts, rotation, torn and bad lines, what a slow
 * shipper loses) and the controllers' lines (Go durations), on files in a temporary directory; the
 * hub's intake of shipped entries.
 */
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FluxLogReader, FluxLogWriter, fluxLogPath } from '../../agent-runtime/flux-log.js';
import { Registry } from 'prom-client';
import {
  PROTOCOL_VERSION,
  type FluxLogEntry,
  type FluxLogLine,
  type FluxLogsReport,
} from '../../contract/index.js';
import { createLogger } from '../../platform/log.js';
import type { ClusterRecord } from '../../services/hub/connected-clusters/projection.js';
import { FluxLogs } from '../../services/hub/flux-logs/flux-logs.js';
import type { FluxLogStream } from '../../services/hub/flux-logs/log-stream.js';
import { metricValue } from '../helpers/arm.js';
import { goDuration } from '../../services/config-agent/flux-log-lines.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arcfleet-flux-log-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const line = (msg: string): FluxLogLine => ({
  ts: '2026-12-01T00:00:00.000Z',
  level: 'info',
  controller: 'kustomize-controller',
  configuration: 'apps',
  kind: 'Kustomization',
  namespace: 'apps',
  name: 'apps-apps',
  msg,
});
const lines = (n: number, from = 0): FluxLogLine[] =>
  Array.from({ length: n }, (_, i) => line(`line ${from + i}`));

describe('the Flux log', () => {
  it('numbers lines per cluster and goes on numbering after a restart of the writer', async () => {
    await new FluxLogWriter(dir).write(lines(3));
    await new FluxLogWriter(dir).write(lines(2, 3));
    const read = await new FluxLogReader(dir).read(0, 100);
    expect(read.entries.map((e) => [e.seq, e.msg])).toEqual([
      [1, 'line 0'],
      [2, 'line 1'],
      [3, 'line 2'],
      [4, 'line 3'],
      [5, 'line 4'],
    ]);
    expect(read).toMatchObject({ invalid: 0, lost: 0, pending: 5 });
  });

  it('reads after the cursor, a batch at a time, and only what was appended since', async () => {
    const writer = new FluxLogWriter(dir);
    const reader = new FluxLogReader(dir);
    await writer.write(lines(5));
    expect((await reader.read(2, 2)).entries.map((e) => e.seq)).toEqual([3, 4]);
    expect((await reader.read(4, 2)).entries.map((e) => e.seq)).toEqual([5]);
    await writer.write(lines(2, 5));
    const next = await reader.read(5, 10);
    expect(next.entries.map((e) => e.seq)).toEqual([6, 7]);
    expect(next.pending).toBe(2);
  });

  it('follows a rotation: the rest of the old file, then the new one', async () => {
    // ~200 bytes a line: rotate after about five lines.
    const writer = new FluxLogWriter(dir, 1000);
    const reader = new FluxLogReader(dir);
    await writer.write(lines(3));
    expect((await reader.read(0, 100)).entries).toHaveLength(3);
    await writer.write(lines(4, 3)); // past 1000 bytes: flux.log becomes flux.log.1
    await writer.write(lines(2, 7));
    const read = await reader.read(3, 100);
    expect(read.entries.map((e) => e.seq)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(read.lost).toBe(0);
    expect((await readFile(`${fluxLogPath(dir)}.1`, 'utf8')).split('\n')).toHaveLength(8);
  });

  it('says how many lines a shipper that fell two files behind has lost', async () => {
    const writer = new FluxLogWriter(dir, 1000);
    await writer.write(lines(6)); // rotated: 1-6 in flux.log.1
    await writer.write(lines(6, 6)); // rotated again: 7-12 in flux.log.1, 1-6 gone
    await writer.write(lines(1, 12));
    const read = await new FluxLogReader(dir).read(2, 100);
    expect(read.entries[0]?.seq).toBe(7);
    expect(read.lost).toBe(4);
  });

  it('leaves a line still being written for the next read, and skips and counts a bad one', async () => {
    const reader = new FluxLogReader(dir);
    await new FluxLogWriter(dir).write(lines(1));
    const torn = JSON.stringify({ seq: 2, ...line('torn') });
    await appendFile(fluxLogPath(dir), torn.slice(0, 40));
    expect((await reader.read(0, 10)).entries.map((e) => e.seq)).toEqual([1]);
    await appendFile(fluxLogPath(dir), `${torn.slice(40)}\nnot json\n`);
    const read = await reader.read(1, 10);
    expect(read.entries.map((e) => e.msg)).toEqual(['torn']);
    expect(read.invalid).toBe(1);
  });

  it('writes nothing for a cluster whose directory is gone', async () => {
    const gone = join(dir, 'removed-cluster');
    await new FluxLogWriter(gone).write(lines(1));
    expect(new FluxLogReader(gone).exists()).toBe(false);
  });
});

describe('the controllers’ lines', () => {
  it('print durations as Go does', () => {
    expect(goDuration(12)).toBe('12ms');
    expect(goDuration(1500)).toBe('1.5s');
    expect(goDuration(600_000)).toBe('10m0s');
    expect(goDuration(90_000)).toBe('1m30s');
    expect(goDuration(3_600_000)).toBe('1h0m0s');
  });
});

describe('the hub’s intake', () => {
  const cluster = { key: 'sub.rg.c', connectivity: { status: 'Connected' } } as unknown as ClusterRecord;
  const report = (agent: FluxLogsReport['agent'], configurations: string[]): FluxLogsReport => ({
    v: PROTOCOL_VERSION,
    type: 'flux-logs',
    agent,
    sentAt: '2026-12-01T00:00:00.000Z',
    entries: configurations.map((configuration, i) => ({ seq: i + 1, ...line(`l${i}`), configuration })),
  });

  async function intake(): Promise<{ fluxLogs: FluxLogs; stored: FluxLogEntry[]; registry: Registry }> {
    const stored: FluxLogEntry[] = [];
    const registry = new Registry();
    const stream = {
      append: async (_key: string, entries: readonly FluxLogEntry[]) => {
        stored.push(...entries);
        return entries.at(-1)?.seq ?? 0;
      },
    } as unknown as FluxLogStream;
    const fluxLogs = new FluxLogs({
      openStream: () => Promise.resolve(stream),
      configurations: { hasFluxConfiguration: (_c, name) => name === 'apps' },
      registry,
      logger: createLogger('test', 'silent'),
    });
    // The stream opens in the background.
    await new Promise((resolve) => setImmediate(resolve));
    return { fluxLogs, stored, registry };
  }

  it('keeps only entries of the cluster’s own configurations, counts the rest, and acknowledges all', async () => {
    const { fluxLogs, stored, registry } = await intake();
    const ack = await fluxLogs.ingest(cluster, report('flux-logs-agent', ['apps', 'made-up', 'apps']), 's');
    expect(ack).toMatchObject({ type: 'ack', seq: 3 });
    expect(stored.map((e) => e.seq)).toEqual([1, 3]);
    const text = await registry.metrics();
    expect(metricValue(text, 'arcfleet_hub_flux_log_entries_total', { outcome: 'stored' })).toBe(2);
    expect(metricValue(text, 'arcfleet_hub_flux_log_entries_total', { outcome: 'dropped' })).toBe(1);
  });

  it('refuses Flux logs from another agent', async () => {
    const { fluxLogs, stored } = await intake();
    await expect(fluxLogs.ingest(cluster, report('config-agent', ['apps']), 's')).rejects.toMatchObject({
      code: 'InvalidMessage',
    });
    expect(stored).toEqual([]);
  });
});

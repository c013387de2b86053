import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArcError, type ConnectedCluster } from '../../contract/index.js';
import { HubClient } from '../../fleet/clients/hub-client.js';
import { countStatuses, formatCounts } from '../../fleet/progress.js';
import { clustersTable, table } from '../../cli/format.js';
import { mapLimit } from '../../platform/limit.js';
import { assertPortFree, freePort } from '../../fleet/ports.js';
import { readFleetFile, writeFleetFile, type FleetFile } from '../../fleet/fleet-file.js';
import { findNatsServer } from '../../fleet/nats-server.js';

function cluster(
  name: string,
  status: ConnectedCluster['properties']['connectivityStatus'],
): ConnectedCluster {
  return {
    id: `/subscriptions/s/resourceGroups/r/providers/Microsoft.Kubernetes/connectedClusters/${name}`,
    name,
    type: 'Microsoft.Kubernetes/connectedClusters',
    location: 'eastus',
    identity: { type: 'SystemAssigned' },
    systemData: {
      createdBy: 'u',
      createdByType: 'User',
      createdAt: '2026-01-01T00:00:00Z',
      lastModifiedBy: 'u',
      lastModifiedByType: 'User',
      lastModifiedAt: '2026-01-01T00:00:00Z',
    },
    properties: {
      agentPublicKeyCertificate: 'k',
      provisioningState: 'Succeeded',
      connectivityStatus: status,
    },
  };
}

describe('HubClient against a fake ARM endpoint', () => {
  let server: Server;
  let base: string;
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const url = new URL(req.url ?? '/', 'http://x');
      res.setHeader('content-type', 'application/json');
      if (url.pathname.endsWith('/connectedClusters') && !url.searchParams.has('page')) {
        res.end(
          JSON.stringify({
            value: [cluster('a', 'Connected')],
            nextLink: `${base}${url.pathname}?api-version=2024-01-01&page=2`,
          }),
        );
      } else if (url.pathname.endsWith('/connectedClusters')) {
        res.end(JSON.stringify({ value: [cluster('b', 'Connecting')] }));
      } else if (url.pathname.endsWith('/missing')) {
        res.statusCode = 404;
        res.end(
          JSON.stringify({ error: { code: 'ResourceNotFound', message: 'The Resource was not found.' } }),
        );
      } else if (url.pathname.endsWith('/weird')) {
        res.statusCode = 400;
        res.end(JSON.stringify({ error: { code: 'SomethingNew', message: 'new code', target: 'x' } }));
      } else {
        res.statusCode = 201;
        res.setHeader('x-arcfleet-bootstrap-token', 'tok');
        res.setHeader('azure-asyncoperation', `${base}/op`);
        res.end(JSON.stringify(cluster('c', 'Connecting')));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const ref = { subscriptionId: 's', resourceGroup: 'r', name: 'c' };

  it('follows nextLink and combines the pages', async () => {
    const body = await new HubClient(base).listClusters('s');
    expect(body.value.map((c) => c.name)).toEqual(['a', 'b']);
    expect(seen.some((s) => s.includes('api-version=2024-01-01'))).toBe(true);
  });

  it('returns the bootstrap token and the async operation of a PUT', async () => {
    const put = await new HubClient(base).putCluster(ref, {
      location: 'eastus',
      identity: { type: 'SystemAssigned' },
      properties: { agentPublicKeyCertificate: 'k' },
    });
    expect(put).toMatchObject({ status: 201, bootstrapToken: 'tok', asyncOperation: `${base}/op` });
  });

  it('turns ARM error bodies into ArcError with code and status', async () => {
    const err = await new HubClient(base).getCluster({ ...ref, name: 'missing' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArcError);
    expect(err).toMatchObject({ code: 'ResourceNotFound', status: 404 });
    const weird = await new HubClient(base).getCluster({ ...ref, name: 'weird' }).catch((e: unknown) => e);
    expect(weird).toMatchObject({ code: 'InternalServerError', status: 400, target: 'x' });
    expect((weird as Error).message).toContain('SomethingNew');
  });

  it('says the hub is unreachable in one line', async () => {
    const port = await freePort();
    const err = await new HubClient(`http://127.0.0.1:${port}`).listClusters('s').catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/cannot reach the hub .*arcfleet up/);
  });
});

describe('progress and output', () => {
  it('counts statuses of the expected clusters only', () => {
    const counts = countStatuses(
      [cluster('a', 'Connected'), cluster('B', 'Connecting'), cluster('x', 'Offline')],
      new Set(['a', 'b', 'c']),
    );
    expect(counts).toEqual({ Connected: 1, Connecting: 1 });
    expect(formatCounts(counts, 3)).toBe('Connecting 1 · Connected 1 · not listed 1');
  });

  it('aligns tables', () => {
    expect(table(['A', 'BB'], [['xxx', 'y']])).toBe('A    BB\nxxx  y');
    expect(clustersTable([cluster('a', 'Connected')])).toContain('Connected');
  });
});

describe('helpers', () => {
  it('mapLimit keeps order and bounds concurrency', async () => {
    let active = 0;
    let peak = 0;
    const out = await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return n * 2;
    });
    expect(out).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(peak).toBe(3);
  });

  it('reports a taken port as PortInUse', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await expect(assertPortFree(port, '--hub-port')).rejects.toMatchObject({
      code: 'PortInUse',
      target: '--hub-port',
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(assertPortFree(port, '--hub-port')).resolves.toBeUndefined();
  });

  it('round-trips fleet.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arcfleet-cli-'));
    try {
      const file: FleetFile = {
        version: 1,
        dataDir: dir,
        subscriptionId: 's',
        resourceGroup: 'r',
        hubUrl: 'http://127.0.0.1:1',
        natsUrl: 'nats://127.0.0.1:2',
        natsMonitorUrl: 'http://127.0.0.1:3',
        timeScale: 60,
        epochMs: 1,
        clusterCount: 0,
        detached: true,
        launcherPid: 1,
        pids: { hub: 2 },
        startedAt: 'now',
      };
      expect(await readFleetFile(dir)).toBeUndefined();
      await writeFleetFile(file);
      expect(await readFleetFile(dir)).toEqual(file);
      // Writes made at once (a crash record while a restart is recorded) all land; the last one wins.
      await Promise.all(Array.from({ length: 20 }, (_, i) => writeFleetFile({ ...file, clusterCount: i })));
      expect((await readFleetFile(dir))?.clusterCount).toBe(19);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the install command when nats-server is missing', () => {
    expect(() => findNatsServer({ PATH: '/nonexistent' }, [])).toThrow(
      expect.objectContaining({
        code: 'NatsServerMissing',
        message: expect.stringContaining('apt-get install -y nats-server'),
      }),
    );
    expect(findNatsServer()).toMatch(/nats-server$/);
  });
});

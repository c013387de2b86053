/**
 * `npm run bench -- --connect [--clusters 20]`: cluster management at fleet scale.
 * - Cluster connect against the apiserver directly, in one run, so the ratio is what matters on a
 *   shared machine: sequential latency (list the azure-arc pods), throughput with 8 clients in
 *   parallel, and a 900 KB ConfigMap read (data frames and credit flow control).
 * - An extension rolled out to every cluster: PUT on each, time until each is Succeeded (the nudge,
 *   the pull, the install in the apiserver and the status report, per cluster).
 */
import { parse as parseYaml } from 'yaml';
import type { FleetHandle } from '../fleet/index.js';

export interface ConnectBenchResult {
  readonly clusters: number;
  readonly latency: { direct: Stats; connect: Stats };
  readonly parallel: { clients: number; directPerSecond: number; connectPerSecond: number };
  readonly largeRead: { bytes: number; directMiBps: number; connectMiBps: number };
  readonly rollout: {
    extensionType: string;
    allSucceededSeconds: number;
    p50Seconds: number;
    p99Seconds: number;
  };
}

interface Stats {
  readonly medianMs: number;
  readonly p99Ms: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { medianMs: round(at(0.5)), p99Ms: round(at(0.99)) };
}

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function get(url: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  await res.arrayBuffer();
}

export async function runConnectBench(
  fleet: FleetHandle,
  opts: { log: (line: string) => void; requests?: number },
): Promise<ConnectBenchResult> {
  const n = opts.requests ?? 200;
  const first = fleet.clusters[0];
  if (!first) throw new Error('no cluster');
  const kubeconfig = parseYaml(await fleet.client.clusterUserKubeconfig(first, 'bench')) as {
    clusters: { cluster: { server: string } }[];
    users: { user: { token: string } }[];
  };
  const connect = kubeconfig.clusters[0]?.cluster.server ?? '';
  const auth = { authorization: `Bearer ${kubeconfig.users[0]?.user.token ?? ''}` };
  const direct = `${fleet.kubeApiserverUrl}/clusters/${encodeURIComponent(first.name)}`;
  const pods = '/api/v1/namespaces/azure-arc/pods';

  opts.log(`cluster connect: ${n} sequential GETs of ${pods}, direct and through the hub`);
  for (let i = 0; i < 20; i++) await get(`${connect}${pods}`, auth); // warm-up
  const directMs: number[] = [];
  const connectMs: number[] = [];
  for (let i = 0; i < n; i++) {
    directMs.push(await timed(() => get(`${direct}${pods}`, {})));
    connectMs.push(await timed(() => get(`${connect}${pods}`, auth)));
  }

  const clients = 8;
  const perClient = Math.ceil(n / 2);
  const parallel = async (base: string, headers: Record<string, string>): Promise<number> => {
    const ms = await timed(async () => {
      await Promise.all(
        Array.from({ length: clients }, async () => {
          for (let i = 0; i < perClient; i++) await get(`${base}${pods}`, headers);
        }),
      );
    });
    return (clients * perClient) / (ms / 1000);
  };
  opts.log(`cluster connect: ${clients} clients x ${perClient} GETs in parallel`);
  const directPerSecond = await parallel(direct, {});
  const connectPerSecond = await parallel(connect, auth);

  const big = 'x'.repeat(900 * 1024);
  const created = await fetch(`${direct}/api/v1/namespaces/default/configmaps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'bench-large' },
      data: { big },
    }),
  });
  if (!created.ok && created.status !== 409)
    throw new Error(`creating the large ConfigMap: HTTP ${created.status}`);
  const path = '/api/v1/namespaces/default/configmaps/bench-large';
  const reads = 20;
  opts.log(`cluster connect: ${reads} reads of a ${big.length / 1024} KiB ConfigMap`);
  const mibps = async (base: string, headers: Record<string, string>): Promise<number> => {
    const ms = await timed(async () => {
      for (let i = 0; i < reads; i++) await get(`${base}${path}`, headers);
    });
    return (reads * big.length) / 1024 / 1024 / (ms / 1000);
  };
  const directMiBps = await mibps(direct, {});
  const connectMiBps = await mibps(connect, auth);

  const extensionType = 'microsoft.azuremonitor.containers';
  opts.log(`rollout: ${extensionType} on ${fleet.clusters.length} clusters`);
  const t0 = performance.now();
  const apiVersion = '2024-11-01';
  const pathOf = (c: (typeof fleet.clusters)[number]): string =>
    `${fleet.client.clusterPath(c)}/providers/Microsoft.KubernetesConfiguration/extensions/azuremonitor-containers`;
  await Promise.all(
    fleet.clusters.map((c) =>
      fleet.client.arm('PUT', pathOf(c), apiVersion, { properties: { extensionType } }),
    ),
  );
  const doneAt = new Map<string, number>();
  while (doneAt.size < fleet.clusters.length) {
    if (performance.now() - t0 > 300_000)
      throw new Error(`rollout: only ${doneAt.size} Succeeded after 300 s`);
    await Promise.all(
      fleet.clusters
        .filter((c) => !doneAt.has(c.name))
        .map(async (c) => {
          const r = await fleet.client.arm<{ properties: { provisioningState: string } }>(
            'GET',
            pathOf(c),
            apiVersion,
          );
          if (r.body?.properties.provisioningState === 'Succeeded')
            doneAt.set(c.name, performance.now() - t0);
        }),
    );
    await new Promise((r) => setTimeout(r, 100));
  }
  const times = [...doneAt.values()].map((ms) => ms / 1000).sort((a, b) => a - b);
  const q = (p: number): number =>
    round(times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? NaN);

  return {
    clusters: fleet.clusters.length,
    latency: { direct: stats(directMs), connect: stats(connectMs) },
    parallel: {
      clients,
      directPerSecond: round(directPerSecond, 0),
      connectPerSecond: round(connectPerSecond, 0),
    },
    largeRead: {
      bytes: big.length,
      directMiBps: round(directMiBps, 1),
      connectMiBps: round(connectMiBps, 1),
    },
    rollout: { extensionType, allSucceededSeconds: q(1), p50Seconds: q(0.5), p99Seconds: q(0.99) },
  };
}

export function connectLines(r: ConnectBenchResult): string[] {
  const ratio = (a: number, b: number): string => (a / b).toFixed(2);
  return [
    '',
    `arcfleet bench --connect: ${r.clusters} clusters`,
    `  GET pods, sequential   direct median ${r.latency.direct.medianMs} ms (p99 ${r.latency.direct.p99Ms}), through cluster connect median ${r.latency.connect.medianMs} ms (p99 ${r.latency.connect.p99Ms})`,
    `  GET pods, ${r.parallel.clients} clients    direct ${r.parallel.directPerSecond} req/s, cluster connect ${r.parallel.connectPerSecond} req/s (ratio ${ratio(r.parallel.connectPerSecond, r.parallel.directPerSecond)})`,
    `  900 KiB ConfigMap     direct ${r.largeRead.directMiBps} MiB/s, cluster connect ${r.largeRead.connectMiBps} MiB/s (ratio ${ratio(r.largeRead.connectMiBps, r.largeRead.directMiBps)})`,
    `  extension rollout     ${r.rollout.extensionType} on ${r.clusters} clusters: all Succeeded in ${r.rollout.allSucceededSeconds} s (p50 ${r.rollout.p50Seconds} s, p99 ${r.rollout.p99Seconds} s)`,
  ];
}

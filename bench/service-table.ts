/**
 * The bench's per-service table: each service's processes summed (a sharded fleet runs several), with
 * RSS at the end, CPU seconds until all clusters were Connected, the onboarding cost per cluster (CPU
 * ms per cluster until the cluster side settled: what each agent kind costs a cluster joining), and
 * CPU cores over the steady window.
 */
import type { ProcSample } from './procstat.js';

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** A process's service: `config-agent-2` (one of a sharded fleet's) → `config-agent`. */
const serviceOf = (process: string): string => process.replace(/-\d+$/, '');

export interface ServiceSamples {
  readonly atConnected: Record<string, ProcSample>;
  readonly atSettled: Record<string, ProcSample>;
  readonly afterSteady: Record<string, ProcSample>;
  readonly atEnd: Record<string, ProcSample>;
  readonly steadySeconds: number;
  readonly clusters: number;
}

interface Row {
  n: number;
  rss: number;
  cpuConnected: number;
  cpuSettled: number;
  steady: number;
}

export function serviceTable(s: ServiceSamples): string[] {
  const rows = new Map<string, Row>();
  for (const [name, end] of Object.entries(s.atEnd)) {
    const row = rows.get(serviceOf(name)) ?? { n: 0, rss: 0, cpuConnected: 0, cpuSettled: 0, steady: 0 };
    const connected = s.atConnected[name]?.cpuSeconds ?? 0;
    const settled = s.atSettled[name]?.cpuSeconds ?? connected;
    row.n += 1;
    row.rss += end.rssBytes;
    row.cpuConnected += connected;
    row.cpuSettled += settled;
    row.steady += ((s.afterSteady[name]?.cpuSeconds ?? settled) - settled) / Math.max(s.steadySeconds, 1e-9);
    rows.set(serviceOf(name), row);
  }
  const head = [
    'service'.padEnd(25),
    'procs'.padStart(5),
    'RSS at end'.padStart(12),
    'CPU s to Connected'.padStart(19),
    'CPU ms/cluster to settled'.padStart(26),
    'steady cores'.padStart(13),
  ];
  return [
    `  ${head.join(' ')}`,
    ...[...rows].map(([name, r]) =>
      [
        `  ${name.padEnd(25)}`,
        String(r.n).padStart(5),
        mib(r.rss).padStart(12),
        r.cpuConnected.toFixed(2).padStart(19),
        ((r.cpuSettled * 1000) / Math.max(s.clusters, 1)).toFixed(2).padStart(26),
        r.steady.toFixed(3).padStart(13),
      ].join(' '),
    ),
  ];
}

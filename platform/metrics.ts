/**
 * The tiny /metrics listener every process can serve for local scraping (loopback by default). The listener writes `<dataDir>/run/<service>.metrics.json`
 * so the launcher can find a port chosen by the OS (`ARCFLEET_METRICS_PORT=0`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Counter, type Registry } from 'prom-client';
import { logWriteStats } from './log-file.js';
import { ENV } from './settings.js';
import { ConfigError } from '../contract/index.js';
import type { Logger } from './log.js';
import { writeJsonAtomically } from './atomic-file.js';
import { keepIdleConnections } from './http-keep-alive.js';
import { WRITE_FAILURE_GRACE_MS, writeHealth } from './write-health.js';

export interface MetricsEndpoint {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** The file a service writes so the launcher finds its metrics port. */
export function metricsPortFile(dataDir: string, service: string): string {
  return join(dataDir, 'run', `${service}.metrics.json`);
}

/**
 * Serves GET /metrics of `registry` and GET /healthz on host:port (port 0 = chosen by the OS) and writes
 * the port file. Anything else is 404.
 */
export async function startMetricsServer(opts: {
  registry: Registry;
  service: string;
  port: number;
  host?: string;
  dataDir?: string;
  logger: Logger;
}): Promise<MetricsEndpoint> {
  const host = opts.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    // Liveness: the process answers, and can write what it must keep (write-health.ts).
    if (req.method === 'GET' && path === '/healthz') {
      const health = writeHealth(WRITE_FAILURE_GRACE_MS);
      res.writeHead(health.status, { 'content-type': 'application/json' }).end(JSON.stringify(health.body));
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    opts.registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': opts.registry.contentType }).end(body);
      },
      (err: unknown) => {
        opts.logger.error({ event: 'metrics.collect_failed', err }, 'metrics collection failed');
        res.writeHead(500).end();
      },
    );
  });
  keepIdleConnections(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}/metrics`;
  if (opts.dataDir) {
    const file = metricsPortFile(opts.dataDir, opts.service);
    await writeJsonAtomically(file, { service: opts.service, host, port, pid: process.pid });
  }
  opts.logger.info({ event: 'metrics.listening', url }, `metrics on ${url}`);
  return {
    port,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A Prometheus file_sd document: one entry per target. */
export interface FileSdTarget {
  readonly targets: string[];
  readonly labels: Record<string, string>;
}

/** `shard`: one of several processes of a service (a sharded fleet); dashboards sum over it. */
export function fileSdTargets(
  targets: readonly { service: string; address: string; shard?: string }[],
): FileSdTarget[] {
  return targets.map((t) => ({
    targets: [t.address],
    labels: { job: 'arcfleet', service: t.service, ...(t.shard === undefined ? {} : { shard: t.shard }) },
  }));
}

/** `ARCFLEET_METRICS_PORT`: unset/empty = no listener; 0..65535; anything else is a config error. */
export function parseMetricsPort(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new ConfigError(ENV.metricsPort, `must be a port (0-65535), got ${raw}`);
  return n;
}

/** What every service's log writer did: lines dropped (a full disk) and file rotations. */
export function registerLogMetrics(registry: Registry): void {
  new Counter({
    name: 'arcfleet_log_lines_dropped_total',
    help: 'Log lines this process could not write (a full disk, an I/O error) and dropped instead of failing.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(logWriteStats.droppedLines);
    },
  });
  new Counter({
    name: 'arcfleet_log_rotations_total',
    help: 'Times this process rotated its log file (ARCFLEET_LOG_MAX_BYTES reached).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(logWriteStats.rotations);
    },
  });
}

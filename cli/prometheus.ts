/**
 * A local Prometheus scraping an embedded fleet (`arcfleet up --prometheus`, the Prometheus
 * integration test): the file_sd target list `<dataDir>/prometheus/targets.json`, a generated
 * configuration using it and the rule files of deploy/prometheus/rules/, and the `prometheus` process
 * (Debian package `prometheus`, binary /usr/bin/prometheus).
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArcError, ERROR_CODES } from '../contract/index.js';
import { fileSdTargets } from '../platform/metrics.js';
import { Child } from './children.js';
import { waitFor } from '../platform/wait.js';
import { writeJsonAtomically } from '../platform/atomic-file.js';

export interface ScrapeTarget {
  readonly service: string;
  /** host:port */
  readonly address: string;
  /** Default /metrics. */
  readonly metricsPath?: string;
}

export function prometheusDir(dataDir: string): string {
  return join(dataDir, 'prometheus');
}

export function targetsFile(dataDir: string): string {
  return join(prometheusDir(dataDir), 'targets.json');
}

/** Writes the file_sd JSON atomically (Prometheus watches the file and re-reads it). */
export async function writeTargets(dataDir: string, targets: readonly ScrapeTarget[]): Promise<string> {
  const file = targetsFile(dataDir);
  await writeJsonAtomically(file, fileSdTargets(targets));
  return file;
}

/** deploy/prometheus/rules of this checkout (from sources or from dist/). */
export function defaultRulesDir(): string {
  for (const up of ['..', '../..']) {
    const dir = fileURLToPath(new URL(`${up}/deploy/prometheus/rules`, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  return resolve('deploy/prometheus/rules');
}

export function ruleFiles(rulesDir: string): string[] {
  return readdirSync(rulesDir)
    .filter((f) => f.endsWith('.rules.yml'))
    .sort()
    .map((f) => join(rulesDir, f));
}

export interface PrometheusConfigOptions {
  readonly targetsFile: string;
  readonly ruleFiles: readonly string[];
  /** Default 5s. */
  readonly scrapeInterval?: string;
  /** Default: the scrape interval. */
  readonly evaluationInterval?: string;
}

/** The configuration (JSON is YAML): one job `arcfleet` from file_sd. */
export function prometheusConfig(o: PrometheusConfigOptions): string {
  const scrape = o.scrapeInterval ?? '5s';
  return (
    JSON.stringify(
      {
        global: { scrape_interval: scrape, evaluation_interval: o.evaluationInterval ?? scrape },
        rule_files: o.ruleFiles,
        scrape_configs: [
          {
            job_name: 'arcfleet',
            scrape_timeout: scrape,
            file_sd_configs: [{ files: [o.targetsFile], refresh_interval: scrape }],
          },
        ],
      },
      null,
      2,
    ) + '\n'
  );
}

export function findPrometheus(): string {
  for (const p of [process.env['PROMETHEUS_BIN'], '/usr/bin/prometheus', '/usr/local/bin/prometheus'])
    if (p && existsSync(p)) return p;
  throw new ArcError(
    ERROR_CODES.InternalServerError,
    'prometheus is not installed: `sudo apt-get install -y prometheus` (or run scripts/setup.sh as root), or set PROMETHEUS_BIN',
  );
}

export interface LocalPrometheus {
  readonly url: string;
  readonly configFile: string;
  readonly child: Child;
  stop(graceMs?: number): Promise<void>;
}

/**
 * Writes `<dataDir>/prometheus/prometheus.yml` and starts Prometheus on 127.0.0.1:port with its TSDB
 * under `<dataDir>/prometheus/data`; resolves once /-/ready answers 200.
 */
export async function startPrometheus(opts: {
  dataDir: string;
  port: number;
  rulesDir?: string;
  scrapeInterval?: string;
  evaluationInterval?: string;
  detached?: boolean;
  startTimeoutMs?: number;
  /** Called with the process as soon as it is spawned (before it is ready), e.g. to supervise it. */
  onSpawn?: (child: Child) => void;
}): Promise<LocalPrometheus> {
  const bin = findPrometheus();
  const dir = prometheusDir(opts.dataDir);
  await mkdir(dir, { recursive: true });
  const file = targetsFile(opts.dataDir);
  if (!existsSync(file)) await writeTargets(opts.dataDir, []);
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(
    configFile,
    prometheusConfig({
      targetsFile: file,
      ruleFiles: ruleFiles(opts.rulesDir ?? defaultRulesDir()),
      ...(opts.scrapeInterval ? { scrapeInterval: opts.scrapeInterval } : {}),
      ...(opts.evaluationInterval ? { evaluationInterval: opts.evaluationInterval } : {}),
    }),
  );
  const logDir = join(opts.dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const url = `http://127.0.0.1:${opts.port}`;
  const child = new Child({
    name: 'prometheus',
    command: bin,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${opts.port}`,
      '--storage.tsdb.retention.time=1d',
    ],
    env: process.env,
    logDir,
    detached: opts.detached ?? false,
  });
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  try {
    await waitFor(
      async () => {
        const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) }).catch(
          () => undefined,
        );
        return res?.status === 200;
      },
      {
        timeoutMs: timeoutMs,
        onTimeout: () =>
          new ArcError(
            ERROR_CODES.InternalServerError,
            `prometheus did not become ready on ${url} within ${timeoutMs / 1000} s (log: ${child.logFile})`,
          ),
        abort: () =>
          child.exited ? new ArcError(ERROR_CODES.InternalServerError, child.describeExit()) : undefined,
      },
    );
  } catch (err) {
    await child.stop(2000);
    throw err;
  }
  return { url, configFile, child, stop: (graceMs = 5000) => child.stop(graceMs) };
}

/**
 * A local Prometheus scraping an embedded fleet (`arcfleet up --prometheus`, the Prometheus
 * integration test): the file_sd target list `<dataDir>/prometheus/targets.json`, a generated
 * configuration using it and the rule files of deploy/prometheus/rules/, and the `prometheus` process
 * (Debian package `prometheus`, binary /usr/bin/prometheus).
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArcError, ERROR_CODES } from '../contract/index.js';
import { fileSdTargets } from '../platform/metrics.js';
import { writeFileAtomically, writeJsonAtomically } from '../platform/atomic-file.js';

export interface ScrapeTarget {
  readonly service: string;
  /** host:port */
  readonly address: string;
  /** Default /metrics. */
  readonly metricsPath?: string;
  /** Which of several processes of the service (a sharded fleet). */
  readonly shard?: string;
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

/** `<dataDir>/prometheus/prometheus.yml`: where the component table's prometheus row reads its config. */
export function prometheusConfigFile(dataDir: string): string {
  return join(prometheusDir(dataDir), 'prometheus.yml');
}

/**
 * Writes the configuration the prometheus row starts with: one job from the file_sd targets (an
 * empty list until the launcher writes it), the alert rules under deploy/prometheus.
 */
export async function writePrometheusConfig(opts: {
  dataDir: string;
  rulesDir?: string;
  scrapeInterval?: string;
}): Promise<string> {
  await mkdir(prometheusDir(opts.dataDir), { recursive: true });
  const file = targetsFile(opts.dataDir);
  if (!existsSync(file)) await writeTargets(opts.dataDir, []);
  const configFile = prometheusConfigFile(opts.dataDir);
  await writeFileAtomically(
    configFile,
    prometheusConfig({
      targetsFile: file,
      ruleFiles: ruleFiles(opts.rulesDir ?? defaultRulesDir()),
      ...(opts.scrapeInterval ? { scrapeInterval: opts.scrapeInterval } : {}),
    }),
  );
  return configFile;
}

/**
 * A real Prometheus (Debian package `prometheus`, installed by scripts/setup.sh) scraping a fleet of
 * 20 through the launcher's file_sd targets (the launcher starts it, as `arcfleet up --prometheus` does) and the rule files of deploy/prometheus/rules:
 * every target up; 20 Connected by PromQL; 3 clusters whose agents stop → 3 Offline; every PromQL
 * expression of the rule files and the Grafana dashboards returns data; promtool accepts the
 * generated and the compose configurations and the rules.
 * Time scale 60 (heartbeat 30 s → 0.5 s real, Offline after ~3 s), scrape and evaluation every 1 s.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { prometheusConfigFile } from '../../fleet/prometheus.js';
import { agentSubject, connectWire, requestRaw } from '../helpers/agent-wire.js';
import { AGENT_SERVICES, TestFleet } from '../helpers/fleet.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const CLUSTERS = 20;
const RULES_DIR = join(REPO_ROOT, 'deploy', 'prometheus', 'rules');
const DASHBOARDS_DIR = join(REPO_ROOT, 'deploy', 'grafana', 'dashboards');

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

let fleet: TestFleet;
let promUrl: string;
let nc: NatsConnection | undefined;

async function query(expr: string): Promise<Sample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, {
    signal: AbortSignal.timeout(5000),
  });
  const body = (await res.json()) as { status: string; error?: string; data?: { result: Sample[] } };
  if (body.status !== 'success') throw new Error(`PromQL ${expr}: ${body.error ?? res.status}`);
  return body.data?.result ?? [];
}

async function scalar(expr: string): Promise<number | undefined> {
  const r = await query(expr);
  return r[0] ? Number(r[0].value[1]) : undefined;
}

beforeAll(async () => {
  // The launcher writes the file_sd targets (the hub and every agent's /metrics port) and starts
  // Prometheus from the component table, scraping and evaluating rules every second.
  fleet = await TestFleet.start({
    clusters: CLUSTERS,
    connect: false,
    prometheus: true,
    scrapeInterval: '1s',
  });
  promUrl = fleet.handle.prometheusUrl ?? '';
  // Onboard with Prometheus already scraping, so onboarding and heartbeat rates are observed.
  await Promise.all(fleet.clusters.map((c) => fleet.connect(c.name)));
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await fleet?.stop();
});

describe('Prometheus scraping a fleet of 20', () => {
  it('sees every target up and 20 Connected', async () => {
    const up = await waitFor(() => query('up{job="arcfleet"}'), {
      timeoutMs: 15_000,
      until: (r) => r.length === 1 + AGENT_SERVICES.length && r.every((s) => s.value[1] === '1'),
      message: 'every target up == 1',
    });
    expect(up.map((s) => s.metric['service']).sort()).toEqual(['hub', ...AGENT_SERVICES].sort());
    await waitFor(() => scalar('sum(arcfleet_hub_clusters{connectivity_status="Connected"})'), {
      timeoutMs: 10_000,
      until: (v) => v === CLUSTERS,
      message: `PromQL: ${CLUSTERS} Connected`,
    });
    expect(await scalar('sum(arcfleet_agent_links{state="connected"})')).toBeGreaterThanOrEqual(CLUSTERS);
  });

  it('gives 3 Offline after 3 clusters lose their agents', async () => {
    const silent = fleet.clusters.slice(0, 3).map((c) => c.name);
    for (const name of silent)
      await fleet.stopAgents(name, ['resource-sync-agent', 'clusteridentityoperator']);
    await waitFor(() => scalar('sum(arcfleet_hub_clusters{connectivity_status="Offline"})'), {
      timeoutMs: 20_000,
      until: (v) => v === 3,
      message: 'PromQL: 3 Offline',
    });
    expect(await scalar('sum(arcfleet_hub_clusters{connectivity_status="Connected"})')).toBe(CLUSTERS - 3);
    // The recording rule follows within an evaluation interval.
    await waitFor(() => scalar('arcfleet:fleet_connected_ratio'), {
      timeoutMs: 5000,
      until: (v) => v !== undefined && Math.abs(v - (CLUSTERS - 3) / CLUSTERS) < 1e-9,
      message: `recorded connected ratio ${(CLUSTERS - 3) / CLUSTERS}`,
    });
  });

  it('executes every expression of the rule files and dashboards, each returning data', async () => {
    // A message the hub refuses (bad JSON), so the rejected-messages expressions have something to show.
    nc = await connectWire(fleet);
    const subject = agentSubject(
      fleet.ref(fleet.clusters[5]?.name ?? ''),
      'resource-sync-agent',
      'heartbeat',
    );
    const reply = await requestRaw(nc, subject, new TextEncoder().encode('{not json'));
    expect(reply.type).toBe('error');
    // An agent target that stops answering, for the target-down alert (the fleet's last check).
    await fleet.agent('clusteridentityoperator').stop(3000);

    const exprs: string[] = [];
    for (const f of (await readdir(RULES_DIR)).filter((n) => n.endsWith('.rules.yml'))) {
      const doc = parseYaml(await readFile(join(RULES_DIR, f), 'utf8')) as {
        groups: { rules: { expr: string }[] }[];
      };
      for (const g of doc.groups) for (const r of g.rules) exprs.push(r.expr);
    }
    let dashboardExprs = 0;
    for (const f of (await readdir(DASHBOARDS_DIR)).filter((n) => n.endsWith('.json'))) {
      const dash = JSON.parse(await readFile(join(DASHBOARDS_DIR, f), 'utf8')) as {
        panels: { targets?: { expr: string }[] }[];
      };
      for (const p of dash.panels)
        for (const t of p.targets ?? []) {
          // Grafana's $__rate_interval is at least 4 scrapes; 1m is ample at a 1 s scrape interval.
          exprs.push(t.expr.replaceAll('$__rate_interval', '1m'));
          dashboardExprs++;
        }
    }
    expect(exprs.length).toBeGreaterThan(20);
    expect(dashboardExprs).toBeGreaterThan(10);

    const empty = await waitFor(
      async () => {
        const missing: string[] = [];
        for (const e of exprs) if ((await query(e)).length === 0) missing.push(e);
        return missing;
      },
      {
        timeoutMs: 20_000,
        intervalMs: 500,
        until: (m) => m.length === 0,
        message: 'every expression has data',
      },
    );
    expect(empty).toEqual([]);
  });

  it('passes promtool check config and check rules', async () => {
    const rules = (await readdir(RULES_DIR))
      .filter((n) => n.endsWith('.rules.yml'))
      .map((n) => join(RULES_DIR, n));
    await run('promtool', ['check', 'rules', ...rules]);
    await run('promtool', ['check', 'config', prometheusConfigFile(fleet.dataDir)]);
    await run('promtool', ['check', 'config', join(REPO_ROOT, 'deploy', 'prometheus', 'prometheus.yml')]);
  });
});

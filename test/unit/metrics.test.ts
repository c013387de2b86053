import { describe, expect, it } from 'vitest';
import { fileSdTargets, parseMetricsPort } from '../../platform/metrics.js';
import { certificateExpiryBuckets, createAgentMetrics } from '../../agent-runtime/agent-metrics.js';
import { ConfigError } from '../../contract/index.js';
import { FakeClock } from '../../platform/clock.js';
import { boundedCounts, createHubMetrics } from '../../services/hub/metrics.js';
import { defaultRulesDir, prometheusConfig, ruleFiles } from '../../fleet/prometheus.js';
import { parse as parseYaml } from 'yaml';

describe('agent metrics', () => {
  it('parses the metrics port: unset = off, 0 = free port, bad = config error', () => {
    expect(parseMetricsPort(undefined)).toBeUndefined();
    expect(parseMetricsPort('')).toBeUndefined();
    expect(parseMetricsPort('0')).toBe(0);
    expect(parseMetricsPort('9464')).toBe(9464);
    for (const bad of ['-1', '65536', '1.5', 'abc']) expect(() => parseMetricsPort(bad)).toThrow(ConfigError);
  });

  it('buckets certificate expiries cumulatively', () => {
    const now = 1_000_000_000;
    const b = certificateExpiryBuckets([now - 1000, now + 1800_000, now + 2 * 86_400_000], now);
    expect(Object.fromEntries(b.map((x) => [x.le, x.count]))).toMatchObject({
      '0': 1,
      '3600': 2,
      '86400': 2,
      '604800': 3,
      '+Inf': 3,
    });
  });

  it('exposes aggregate gauges and bounded counters, no cluster label', async () => {
    const clock = new FakeClock(0);
    const m = createAgentMetrics(
      'resource-sync-agent',
      () => ({
        clusters: 3,
        running: 2,
        linksOpen: 2,
        linksConnected: 1,
        certificateExpiriesMs: [90_000, 30_000],
        outboxDepth: 7,
      }),
      () => clock.now(),
    );
    m.link.sent('heartbeat');
    m.link.sent('heartbeat');
    m.link.failed('metadata');
    m.link.reconnected();
    const text = await m.registry.metrics();
    expect(text).toContain('arcfleet_agent_clusters{service="resource-sync-agent"} 3');
    expect(text).toContain('arcfleet_agent_instances_running{service="resource-sync-agent"} 2');
    expect(text).toContain('arcfleet_agent_links{state="connected",service="resource-sync-agent"} 1');
    expect(text).toContain('arcfleet_agent_links{state="disconnected",service="resource-sync-agent"} 1');
    expect(text).toContain('arcfleet_agent_certificate_expiry_min_seconds{service="resource-sync-agent"} 30');
    expect(text).toContain('arcfleet_agent_outbox_depth{service="resource-sync-agent"} 7');
    expect(text).toContain(
      'arcfleet_agent_messages_sent_total{kind="heartbeat",service="resource-sync-agent"} 2',
    );
    expect(text).toContain(
      'arcfleet_agent_messages_failed_total{kind="metadata",service="resource-sync-agent"} 1',
    );
    expect(text).toContain('arcfleet_agent_reconnects_total{service="resource-sync-agent"} 1');
    expect(text).not.toContain('cluster=');
  });

  it('writes one file_sd entry per target', () => {
    expect(fileSdTargets([{ service: 'hub', address: '127.0.0.1:8080' }])).toEqual([
      { targets: ['127.0.0.1:8080'], labels: { job: 'arcfleet', service: 'hub' } },
    ]);
  });
});

describe('hub metrics', () => {
  it('bounds free-form labels: the largest values, the rest as other, empty as unknown', () => {
    const counts = new Map([
      ['eastus', 5],
      ['westeurope', 3],
      ['', 2],
      ['b', 1],
      ['a', 1],
    ]);
    expect([...boundedCounts(counts, 3)]).toEqual([
      ['eastus', 5],
      ['westeurope', 3],
      ['unknown', 2],
      ['other', 2],
    ]);
  });

  it('gauges by location and distribution; vanished values drop out', async () => {
    let loc = new Map([['eastus', 2]]);
    const m = createHubMetrics(
      () => ({
        byStatus: new Map([['Connected', 2]]),
        byProvisioningState: new Map([['Succeeded', 2]]),
        byLocation: loc,
        byDistribution: new Map([['aks', 2]]),
        byAgentVersion: new Map([
          ['1.21.10', 1],
          ['1.18.3', 1],
        ]),
      }),
      { cacheMs: 0, agentSupport: () => ({ latest: '1.21.10', oldestSupportedMinor: '1.19' }) },
    );
    let text = await m.registry.metrics();
    expect(text).toContain('arcfleet_hub_clusters_by_agent_version{version="1.21.10"} 1');
    expect(text).toContain('arcfleet_hub_clusters_by_agent_version{version="1.18.3"} 1');
    expect(text).toContain('arcfleet_hub_clusters_agent_out_of_support 1');
    expect(text).toContain('arcfleet_hub_clusters_by_location{location="eastus"} 2');
    expect(text).toContain('arcfleet_hub_clusters_by_distribution{distribution="aks"} 2');
    expect(text).toContain('arcfleet_hub_clusters{connectivity_status="Connected"} 2');
    loc = new Map([['westus', 2]]);
    text = await m.registry.metrics();
    expect(text).toContain('arcfleet_hub_clusters_by_location{location="westus"} 2');
    expect(text).not.toContain('location="eastus"');
  });
});

describe('local Prometheus configuration', () => {
  it('scrapes job arcfleet from the file_sd list with the deploy rule files', () => {
    const rules = ruleFiles(defaultRulesDir());
    expect(rules.length).toBeGreaterThan(0);
    const cfg = parseYaml(
      prometheusConfig({ targetsFile: '/d/prometheus/targets.json', ruleFiles: rules, scrapeInterval: '1s' }),
    ) as {
      global: Record<string, string>;
      rule_files: string[];
      scrape_configs: { job_name: string; file_sd_configs: { files: string[] }[] }[];
    };
    expect(cfg.global).toMatchObject({ scrape_interval: '1s', evaluation_interval: '1s' });
    expect(cfg.rule_files).toEqual(rules);
    expect(cfg.scrape_configs[0]).toMatchObject({
      job_name: 'arcfleet',
      file_sd_configs: [{ files: ['/d/prometheus/targets.json'] }],
    });
  });
});

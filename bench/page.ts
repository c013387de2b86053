/**
 * `npm run bench -- --page [--clusters 10000]`: the live page in Chromium (Debian `chromium`, via
 * playwright-core) with a fleet of N projections. The hub alone carries them (PUTs, no agents: a
 * 10,000-cluster fleet of agents does not fit on this machine), and the bench churns 50 of them every
 * 250 ms (DELETE, then PUT again: tiles disappear and come back), so the page gets a full delta every
 * feed interval. Measured in the page: time to the first full paint, paints per second, and the mean
 * and worst time of one paint and of applying the feed's messages, against the 16.7 ms of a 60 Hz frame.
 */
import { chromium } from 'playwright-core';
import { generateAgentKeyPair } from '../platform/identity.js';
import type { FleetHandle } from '../fleet/index.js';
import { generateFleet } from '../fleet/generator.js';
import { mapLimit } from '../platform/limit.js';
import type { ClusterState } from '../contract/index.js';

interface PageStats {
  clusters: number;
  deltas: number;
  paints: number;
  paintMs: number;
  maxPaintMs: number;
  applyMs: number;
  messages: number;
}

export interface PageBenchResult {
  readonly clusters: number;
  readonly firstPaintSeconds: number;
  readonly windowSeconds: number;
  readonly paintsPerSecond: number;
  readonly deltasPerSecond: number;
  readonly meanPaintMs: number;
  readonly maxPaintMs: number;
  readonly meanApplyMs: number;
}

function body(c: ClusterState): Parameters<FleetHandle['client']['putCluster']>[1] {
  return {
    location: c.location,
    identity: { type: 'SystemAssigned' },
    properties: {
      agentPublicKeyCertificate: generateAgentKeyPair().publicKey,
      distribution: c.distribution,
      infrastructure: c.infrastructure,
    },
  };
}

export async function runPageBench(
  fleet: FleetHandle,
  opts: { clusters: number; seconds: number; log: (l: string) => void },
): Promise<PageBenchResult> {
  const states = generateFleet({
    count: opts.clusters,
    seed: 5,
    subscriptionId: fleet.subscriptionId,
    resourceGroup: fleet.resourceGroup,
    nowIso: new Date(fleet.clock.now()).toISOString(),
  });
  opts.log(`PUT ${states.length} connectedClusters (hub only, no agents)`);
  await mapLimit(states, 32, (c) => fleet.client.putCluster(c, body(c)));

  const executablePath = process.env.ARCFLEET_CHROMIUM ?? '/usr/bin/chromium';
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const stats = (): Promise<PageStats> =>
      page.evaluate(() => (globalThis as unknown as { arcfleet: { stats(): PageStats } }).arcfleet.stats());
    const t0 = Date.now();
    await page.goto(fleet.hubUrl);
    await page.waitForFunction(
      (n) => {
        const s = (globalThis as unknown as { arcfleet: { stats(): PageStats } }).arcfleet.stats();
        return s.clusters === n && s.paints > 0;
      },
      states.length,
      { timeout: 120_000, polling: 100 },
    );
    const firstPaintSeconds = (Date.now() - t0) / 1000;
    opts.log(
      `page shows ${states.length} tiles after ${firstPaintSeconds.toFixed(1)} s; churning for ${opts.seconds} s`,
    );

    const before = await stats();
    const start = Date.now();
    let batch = 0;
    while (Date.now() - start < opts.seconds * 1000) {
      const slice = states.slice((batch * 50) % states.length, ((batch * 50) % states.length) + 50);
      batch++;
      await mapLimit(slice, 25, (c) => fleet.client.deleteCluster(c));
      await mapLimit(slice, 25, (c) => fleet.client.putCluster(c, body(c)));
      await new Promise((r) => setTimeout(r, 250));
    }
    const windowSeconds = (Date.now() - start) / 1000;
    const after = await stats();
    const paints = after.paints - before.paints;
    const messages = after.messages - before.messages;
    return {
      clusters: states.length,
      firstPaintSeconds,
      windowSeconds,
      paintsPerSecond: paints / windowSeconds,
      deltasPerSecond: (after.deltas - before.deltas) / windowSeconds,
      meanPaintMs: paints > 0 ? (after.paintMs - before.paintMs) / paints : 0,
      maxPaintMs: after.maxPaintMs,
      meanApplyMs: messages > 0 ? (after.applyMs - before.applyMs) / messages : 0,
    };
  } finally {
    await browser.close();
  }
}

export function pageLines(r: PageBenchResult): string[] {
  return [
    '',
    `arcfleet bench --page: ${r.clusters} clusters in Chromium, 50 removed and re-added every 250 ms (${r.windowSeconds.toFixed(1)} s)`,
    `  first full paint after load          ${r.firstPaintSeconds.toFixed(1)} s`,
    `  deltas received                      ${r.deltasPerSecond.toFixed(2)}/s`,
    `  paints                               ${r.paintsPerSecond.toFixed(2)}/s, mean ${r.meanPaintMs.toFixed(1)} ms, worst ${r.maxPaintMs.toFixed(1)} ms (a 60 Hz frame is 16.7 ms)`,
    `  applying one feed message            mean ${r.meanApplyMs.toFixed(2)} ms`,
    '',
  ];
}

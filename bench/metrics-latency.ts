/**
 * The hub's GET /metrics latency (acceptance: median under 50 ms with 1,000 clusters). Requests are
 * sequential and spaced past the hub's per-scrape fleet-count cache (250 ms), so every one counts the
 * whole fleet, as a Prometheus scrape every few seconds does.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface ScrapeLatency {
  readonly samples: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly maxMs: number;
  readonly bytes: number;
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

export async function measureMetricsLatency(
  hubUrl: string,
  samples = 30,
  spacingMs = 300,
): Promise<ScrapeLatency> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < samples; i++) {
    await delay(spacingMs);
    const t = performance.now();
    const res = await fetch(`${hubUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const body = await res.text();
    times.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
    bytes = body.length;
  }
  times.sort((a, b) => a - b);
  return {
    samples,
    medianMs: percentile(times, 0.5),
    p90Ms: percentile(times, 0.9),
    maxMs: times[times.length - 1] ?? NaN,
    bytes,
  };
}

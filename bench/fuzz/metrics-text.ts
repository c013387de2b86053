/** Sums the samples of one metric in Prometheus text format whose labels pass `filter`. Pure. */
export function metricSum(
  text: string,
  name: string,
  filter: (labels: Record<string, string>) => boolean = () => true,
): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const pair of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1] as string] = pair[2] as string;
    if (filter(labels)) total += Number(m[4]);
  }
  return total;
}

/** Scrapes `url` (a /metrics endpoint) and sums one metric as `metricSum` does. */
export async function scrapeSum(
  url: string,
  name: string,
  filter?: (labels: Record<string, string>) => boolean,
): Promise<number> {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
  return metricSum(text, name, filter);
}

/** Labels of a refused HTTP answer (`code` 4xx). */
export const refusedCode = (labels: Record<string, string>): boolean => /^4/.test(labels['code'] ?? '');

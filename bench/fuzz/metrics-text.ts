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

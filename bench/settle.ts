/**
 * When the cluster side has settled after onboarding: every cluster Connected is not the end of the
 * work, the cluster-local agents (cluster-metadata-operator, controller-manager) are still writing
 * each cluster's objects through its apiserver, and reading them back after each write (the echo of
 * their own writes). Settled = the emulated apiserver has served no request for `quietMs` (a settled
 * fleet makes none); its own request counters say so (`arcfleet_kube_requests_total`).
 */
/** The apiserver's own endpoints, which the bench and Prometheus call: not the fleet's work. */
const NOT_WORK = new Set(['metrics', 'health']);

/** Requests served so far, from the apiserver's /metrics. */
export async function apiserverRequests(apiserverUrl: string): Promise<number> {
  const res = await fetch(`${apiserverUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  let total = 0;
  for (const line of (await res.text()).split('\n')) {
    if (!line.startsWith('arcfleet_kube_requests_total{')) continue;
    const verb = /verb="([^"]+)"/.exec(line)?.[1];
    if (verb && !NOT_WORK.has(verb)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Resolves with the requests served once none came for `quietMs`; throws after `timeoutMs`. */
export async function waitApiserverQuiet(
  apiserverUrl: string,
  opts: { quietMs: number; timeoutMs: number; pollMs?: number },
): Promise<number> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = await apiserverRequests(apiserverUrl);
  let quietSince = Date.now();
  while (Date.now() - quietSince < opts.quietMs) {
    if (Date.now() > deadline)
      throw new Error(
        `the cluster side did not settle within ${opts.timeoutMs} ms (${last} requests so far)`,
      );
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
    const now = await apiserverRequests(apiserverUrl);
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    }
  }
  return last;
}

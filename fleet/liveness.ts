/**
 * The supervisor's liveness probe, as a kubelet's: every `intervalMs` a GET of the service's health URL
 * must answer 2xx within `timeoutMs`; after `failureThreshold` failures in a row the service counts as
 * dead although its process runs (a full disk, a wedged event loop, a broker whose JetStream switched
 * itself off), and the supervisor restarts it. A process that exits is the exit watcher's, not this.
 */
export interface LivenessOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
}

/** A kubelet's defaults, with a longer timeout: a 2-core machine onboarding thousands of clusters is slow, not dead. */
export const DEFAULT_LIVENESS: LivenessOptions = { intervalMs: 10_000, timeoutMs: 5000, failureThreshold: 3 };

export class LivenessProbe {
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly opts: LivenessOptions,
    /** Called once, with the last failure, when the threshold is reached; the probe then stops. */
    private readonly onDead: (reason: string) => void,
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check(), this.opts.intervalMs);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    const failure = await probe(this.url, this.opts.timeoutMs);
    if (this.stopped) return;
    this.failures = failure === undefined ? 0 : this.failures + 1;
    if (failure !== undefined && this.failures >= this.opts.failureThreshold) {
      this.stopped = true;
      this.onDead(`failed its health probe ${this.failures} times (${failure})`);
      return;
    }
    this.schedule();
  }
}

/** undefined when healthy, else why not: the status and the start of the body, or the error. */
async function probe(url: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    return res.ok ? undefined : `GET ${url}: ${res.status} ${body.slice(0, 200)}`;
  } catch (err) {
    return `GET ${url}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * The log lines of one reconcile, as source-controller and kustomize-controller write them (their
 * messages, levels and Go-style durations), collected and written together after the reconcile.
 * A failed apply's line carries the same error text the Kustomization's Ready condition does, so a
 * user reading the logs and one reading `statuses[]` see the same message.
 */
import type { Clock } from '../../platform/clock.js';
import { logText, type DesiredFluxConfiguration, type FluxLogLine } from '../../contract/index.js';

/** A duration as Go prints it (`time.Duration.String`), the form in Flux's messages: 10m0s, 1.5s, 12ms. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const totalSeconds = ms / 1000;
  if (totalSeconds < 60) return `${Number(totalSeconds.toFixed(3))}s`;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = Number((totalSeconds % 60).toFixed(3));
  return h > 0 ? `${h}h${m}m${s}s` : `${m}m${s}s`;
}

export interface KustomizationOutcome {
  readonly revision: string;
  readonly tookMs: number;
  /** Why the apply failed; none: it succeeded. */
  readonly failure?: string;
}

export class FluxLogLines {
  readonly entries: FluxLogLine[] = [];

  constructor(private readonly clock: Clock) {}

  source(f: DesiredFluxConfiguration, revision: string): void {
    if (f.suspend) {
      this.add(
        f,
        'source-controller',
        'GitRepository',
        f.name,
        'info',
        'Reconciliation is suspended for this object',
      );
      return;
    }
    this.add(
      f,
      'source-controller',
      'GitRepository',
      f.name,
      'info',
      `stored artifact for revision '${revision}'`,
      {
        revision,
      },
    );
  }

  kustomization(
    f: DesiredFluxConfiguration,
    name: string,
    intervalSeconds: number,
    o: KustomizationOutcome,
  ): void {
    const add = (level: FluxLogLine['level'], msg: string, extra: Partial<FluxLogLine> = {}): void =>
      this.add(f, 'kustomize-controller', 'Kustomization', name, level, msg, {
        revision: o.revision,
        ...extra,
      });
    if (f.suspend) {
      add('info', 'Reconciliation is suspended for this object');
      return;
    }
    const next = goDuration(intervalSeconds * 1000);
    if (o.failure !== undefined) {
      add('error', `Reconciliation failed after ${goDuration(o.tookMs)}, next try in ${next}`, {
        error: logText(o.failure),
      });
      return;
    }
    add('info', `server-side apply completed: ConfigMap/${f.namespace}/${name} configured`);
    add('info', `Reconciliation finished in ${goDuration(o.tookMs)}, next run in ${next}`);
  }

  deleted(f: DesiredFluxConfiguration, name: string, pruned: boolean): void {
    const msg = pruned
      ? `garbage collection completed: ConfigMap/${f.namespace}/${name} deleted`
      : 'deletion completed; objects kept (prune is off)';
    this.add(f, 'kustomize-controller', 'Kustomization', name, 'info', msg);
  }

  private add(
    f: DesiredFluxConfiguration,
    controller: FluxLogLine['controller'],
    kind: FluxLogLine['kind'],
    name: string,
    level: FluxLogLine['level'],
    msg: string,
    extra: Partial<FluxLogLine> = {},
  ): void {
    this.entries.push({
      ts: new Date(this.clock.now()).toISOString(),
      level,
      controller,
      configuration: f.name,
      kind,
      namespace: f.namespace,
      name,
      msg,
      ...extra,
    });
  }
}

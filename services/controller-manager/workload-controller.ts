/**
 * controller-manager, per cluster: keeps the Arc agents' Deployments and Pods in `azure-arc` true to
 * the agent processes. A stopped agent's Pod goes Pending, a killed one's waits in CrashLoopBackOff
 * with its restart counted, an agent reporting errors is Running but not Ready; each comes back Ready
 * when its agent does. A Pod deleted with kubectl is created again (a new Pod: its restart count
 * starts over), and the Deployments and Pods of agents the cluster no longer runs are removed.
 *
 * What it watches: the cluster's state and stored objects through the agent host's change journal
 * (as cluster-metadata-operator does), and the agents' liveness by looking at their status files and
 * process beats every `checkEveryMs` (a kubelet's status sync). A look that finds nothing new costs no
 * apiserver request; a change is written after a settle delay (a burst of agents starting shares one
 * sync), and only the objects that differ are written.
 */
import type {
  AgentContext,
  AgentFactory,
  AgentInstance,
  ClusterChanges,
  ClusterSnapshot,
  CloseReason,
} from '../../agent-runtime/agent-instance.js';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { SyncLoop, logSyncFailures, type SyncLoopOptions } from '../../agent-runtime/sync-loop.js';
import type { AgentName, AgentStatus, ProcessBeat } from '../../contract/index.js';
import type { Clock, TimerHandle } from '../../platform/clock.js';
import {
  agentPodState,
  expectedAgents,
  historyOf,
  nextHistory,
  podFingerprint,
  type AgentPodState,
  type PodInput,
} from './agent-pods.js';
import { COMPONENT_LABEL, agentDeployment, agentPod } from './arc-workloads.js';
import type { ProcessWatch } from './process-watch.js';
import { statusLastSeenMs } from '../../agent-runtime/agent-liveness.js';

export const AGENT = 'controller-manager' as const satisfies AgentName;

/** Simulated ms a change waits before its sync: half a real second at time scale 60. */
export const DEFAULT_SETTLE_MS = 30_000;

/** What the controller needs of its cluster's apiserver (a KubeClient in the service, a fake in unit tests). */
export interface WorkloadApi {
  /** The Deployments and Pods of the `azure-arc` release. */
  list(): Promise<KubeObject[]>;
  create(obj: KubeObject): Promise<KubeObject>;
  /** Replaces at the object's resourceVersion (a conflict throws). */
  replace(obj: KubeObject): Promise<KubeObject>;
  remove(obj: KubeObject): Promise<void>;
}

/** The agents' liveness on this machine: their status files for the cluster and their processes' beats. */
export interface AgentObserver {
  statuses(): Promise<readonly AgentStatus[]>;
  /** One file per agent process, shared by every cluster: cheap to read often. */
  beats(): Promise<ReadonlyMap<string, ProcessBeat>>;
}

/**
 * A cluster's own look at its agents' status files comes every this many process-watch intervals (an
 * agent reporting errors, or a status written for the cluster, shows there and nowhere else); a
 * process dying or coming back is heard from the ProcessWatch at once.
 */
export const STATUS_LOOK_INTERVALS = 5;

export type WorkloadControllerOptions = Omit<SyncLoopOptions, 'onError' | 'settleMs'> & {
  readonly clock: Clock;
  readonly settleMs?: number;
  /** Simulated ms between the ProcessWatch's reads of the beats (a cluster's own look: 5 times that). */
  readonly checkEveryMs: number;
  /** The agent processes' liveness, shared by every cluster's controller (process-watch.ts). */
  readonly processes: ProcessWatch;
  /** Real ms: an agent whose status and process beat are older is down. */
  readonly staleAfterMs: number;
  /** Real ms now (liveness is judged in real time, as the beats are written). */
  readonly nowMs?: () => number;
};

export function workloadControllerFactory(
  opts: WorkloadControllerOptions,
  apiFor: (ctx: AgentContext) => WorkloadApi,
  observe: (ctx: AgentContext) => AgentObserver,
): AgentFactory {
  return (ctx, snapshot) => new WorkloadController(ctx, apiFor(ctx), observe(ctx), opts, snapshot);
}

const keyOf = (o: KubeObject): string => `${o.kind}/${o.metadata.name}`;

export class WorkloadController implements AgentInstance {
  private readonly loop: SyncLoop;
  private readonly checker: TimerHandle;
  /** The release's objects as last listed or written; undefined until the first list. */
  private stored: Map<string, KubeObject> | undefined;
  private relist = true;
  private fingerprint: string | undefined;
  private readonly unsubscribe: () => void;
  private checking = false;
  /** Objects written (created, replaced or removed), for tests and the log. */
  writes = 0;

  constructor(
    private readonly ctx: AgentContext,
    private readonly api: WorkloadApi,
    private readonly observer: AgentObserver,
    private readonly opts: WorkloadControllerOptions,
    private snapshot: ClusterSnapshot,
  ) {
    const logFailure = logSyncFailures(
      ctx.logger,
      'workloads.sync_failed',
      'could not sync the azure-arc deployments and pods',
    );
    this.loop = new SyncLoop(() => this.sync(), {
      ...opts,
      settleMs: opts.settleMs ?? DEFAULT_SETTLE_MS,
      onError: (...failure) => {
        // What is stored may not be what it thought (a conflict): read it again.
        this.relist = true;
        logFailure(...failure);
      },
    });
    this.checker = opts.clock.setInterval(() => void this.check(), opts.checkEveryMs * STATUS_LOOK_INTERVALS);
    this.unsubscribe = opts.processes.subscribe(
      () => void this.check(),
      () => observer.beats(),
    );
    this.loop.request();
  }

  get failures(): number {
    return this.loop.failures;
  }

  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.snapshot = snapshot;
    if (changes.kube) this.relist = true;
    if (changes.state || changes.kube) this.loop.request();
  }

  settled(): Promise<void> {
    return this.loop.settled();
  }

  async close(reason?: CloseReason): Promise<void> {
    this.opts.clock.clear(this.checker);
    this.unsubscribe();
    await this.loop.close();
    // Stopped for this cluster: nothing will look after its own Pod, so it says so on the way out
    // (a kubelet would see the container exit). A process shutting down leaves the Pods as they are.
    if (reason === 'stopped') await this.writeOwnPodStopped().catch(() => undefined);
  }

  /** A look at the agents' liveness: a sync only when a Pod would change. */
  private async check(): Promise<void> {
    if (this.checking || this.loop.busy) return;
    this.checking = true;
    try {
      if (podFingerprint(await this.observe()) !== this.fingerprint) this.loop.request();
    } catch (err) {
      this.ctx.logger.debug({ event: 'workloads.check_failed', err }, 'could not read the agents');
    } finally {
      this.checking = false;
    }
  }

  private now(): number {
    return (this.opts.nowMs ?? Date.now)();
  }

  private input(statuses: readonly AgentStatus[], beats: ReadonlyMap<string, ProcessBeat>): PodInput {
    return {
      state: this.snapshot.state,
      statuses,
      beats,
      nowMs: this.now(),
      staleAfterMs: this.opts.staleAfterMs,
    };
  }

  private async observe(): Promise<PodInput> {
    const [statuses, beats] = await Promise.all([this.observer.statuses(), this.observer.beats()]);
    return this.input(statuses, beats);
  }

  private async sync(): Promise<void> {
    const input = await this.observe();
    const fingerprint = podFingerprint(input);
    if (this.relist || !this.stored) {
      this.relist = false;
      this.stored = new Map((await this.api.list()).map((o) => [keyOf(o), o]));
    }
    const stored = this.stored;
    const desired = expectedAgents(input.state).flatMap((agent) => {
      const { state, status } = agentPodState(agent, input);
      return this.objectsFor(agent, state, status, input, stored);
    });
    const wanted = new Set(desired.map(keyOf));
    // The Pods first, then the Deployments' status, as a kubelet and then the Deployment controller
    // would: whoever sees a Deployment change finds its Pod changed already. The writes of each kind go
    // out together: the apiserver makes a burst durable in one file write, so a sync costs about two
    // of its persist intervals, not one per object.
    for (const kind of ['Pod', 'Deployment'])
      await Promise.all(desired.filter((o) => o.kind === kind).map((o) => this.apply(o, stored)));
    const gone = [...stored].filter(([key]) => !wanted.has(key));
    await Promise.all(
      gone.map(async ([key, obj]) => {
        await this.api.remove(obj);
        stored.delete(key);
        this.writes++;
      }),
    );
    this.fingerprint = fingerprint;
  }

  private objectsFor(
    agent: AgentName,
    podState: AgentPodState,
    status: AgentStatus | undefined,
    input: PodInput,
    stored: ReadonlyMap<string, KubeObject>,
  ): KubeObject[] {
    const current = [...stored.values()];
    const pod = current.find((o) => o.kind === 'Pod' && o.metadata.labels?.[COMPONENT_LABEL] === agent);
    const deployment = stored.get(`Deployment/${agent}`);
    const lastSeen = status ? statusLastSeenMs(status, input.beats) : undefined;
    const workload = {
      state: input.state,
      agent,
      podState,
      status,
      history: nextHistory(historyOf(pod, agent), podState, status, lastSeen),
      generation: generationOf(deployment),
    };
    return [agentPod(workload), agentDeployment(workload)];
  }

  /** Creates or replaces `obj` when the stored one differs in what the controller owns. */
  private async apply(obj: KubeObject, stored: Map<string, KubeObject>): Promise<void> {
    const key = keyOf(obj);
    const current = stored.get(key);
    if (current && sameContent(current, obj)) return;
    const written = current
      ? await this.api.replace({
          ...obj,
          metadata: { ...obj.metadata, resourceVersion: current.metadata.resourceVersion },
        })
      : await this.api.create(obj);
    stored.set(key, written);
    this.writes++;
  }

  private async writeOwnPodStopped(): Promise<void> {
    const stored = this.stored;
    if (!stored) return;
    const input = await this.observe();
    for (const obj of this.objectsFor(AGENT, 'Stopped', undefined, input, stored))
      await this.apply(obj, stored);
  }
}

function generationOf(obj: KubeObject | undefined): number {
  const g = obj?.metadata.generation;
  return typeof g === 'number' ? g : 1;
}

/** Whether the stored object says what the controller would write (server-set metadata aside). */
export function sameContent(stored: KubeObject, desired: KubeObject): boolean {
  const owned = (o: KubeObject) =>
    canonical({
      labels: o.metadata.labels,
      annotations: o.metadata.annotations,
      ownerReferences: o.metadata['ownerReferences'],
      spec: o['spec'],
      status: o['status'],
    });
  return owned(stored) === owned(desired);
}

/** JSON with object keys sorted: equal content, equal text, whatever order the keys came back in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * The framework every cluster-side agent service runs on.
 *
 * - `AgentHost` polls the cluster store and keeps one agent instance per cluster: created when the
 *   cluster appears (unless the agent is in `stoppedAgents`), closed when it disappears or is stopped,
 *   told about changes (state generation, onboarding secret, identity secret). A poll costs three
 *   `stat`s per cluster; a file is read only when its version (inode, mtime, size) changed.
 * - `AgentLink` is one (cluster, agent) pair's OWN NATS connection: signed publish/request, decoded
 *   replies, the cluster's control subject.
 * - `ConnectionGate` limits concurrent first connections and spaces their starts, so a host of 1,000
 *   clusters does not dial 1,000 connections in one burst.
 *
 * A cluster's error never leaves its instance: it is logged (`event` field) and the host carries on.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { context, trace, type Context, type Span } from '@opentelemetry/api';
import { headers, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from 'nats';
import {
  type ClusterState,
  type IdentitySecret,
  type OnboardingSecret,
  controlMessageSchema,
  decodeMessage,
  encodeMessage,
  hubReplySchema,
  type AgentMessage,
  type ControlMessage,
  type HubReply,
  subjects,
  type AgentName,
  type ClusterRef,
  type MessageKind,
} from '../contract/index.js';
import { SECRET_IDENTITY, SECRET_ONBOARDING, type ClusterStore } from './cluster-store.js';
import { HEADER_IDENTITY, HEADER_SIGNATURE, MessageSigner } from '../platform/identity.js';
import type { Logger } from '../platform/log.js';
import type { AgentHostStats, LinkMetrics } from './agent-metrics.js';
import { connectNats } from '../platform/nats.js';
import {
  ATTR,
  agentSubjectTemplate,
  failSpan,
  injectTraceContext,
  startMessagingSpan,
  tracingEnabled,
} from '../platform/tracing.js';
import { ConnectionGate, type ConnectionGateOptions } from '../platform/limit.js';

// ---------------------------------------------------------------------------------------------
// Pure diffing of file versions
// ---------------------------------------------------------------------------------------------

export const CLUSTER_FILES = ['state', 'onboarding', 'identity'] as const;
export type ClusterFile = (typeof CLUSTER_FILES)[number];

/** Version token per file (`inode:mtime:size`), undefined when the file does not exist. */
export type FileVersions = Readonly<Record<ClusterFile, string | undefined>>;

export interface VersionDiff {
  /** Clusters seen now and not before. */
  readonly added: readonly string[];
  /** Clusters known before and gone now. */
  readonly removed: readonly string[];
  /** Per added or still-present cluster, the files whose version differs (for added: the present files). */
  readonly changed: ReadonlyMap<string, readonly ClusterFile[]>;
}

export function diffVersions(
  known: ReadonlyMap<string, FileVersions>,
  seen: ReadonlyMap<string, FileVersions>,
): VersionDiff {
  const added: string[] = [];
  const removed: string[] = [];
  const changed = new Map<string, ClusterFile[]>();
  for (const [name, now] of seen) {
    const before = known.get(name);
    if (!before) added.push(name);
    const files = CLUSTER_FILES.filter((f) => (before ? before[f] !== now[f] : now[f] !== undefined));
    if (files.length > 0) changed.set(name, files);
  }
  for (const name of known.keys()) if (!seen.has(name)) removed.push(name);
  return { added, removed, changed };
}

/** Whether this agent should run for a cluster in this state. */
export function agentWanted(state: ClusterState | undefined, agent: AgentName): boolean {
  if (state === undefined || state.stoppedAgents.includes(agent)) return false;
  // An optional agent runs only with its feature on (no deployment otherwise, as in the Helm chart).
  return agent !== 'clusterconnect-agent' || state.features.clusterConnect;
}

// ---------------------------------------------------------------------------------------------
// AgentLink
// ---------------------------------------------------------------------------------------------

export interface LinkCredentials {
  /** The agent's private key (from the onboarding secret): signs every message. */
  readonly privateKeyPem: string;
  /** The identity certificate, sent as `Arc-Identity` when present. */
  readonly certificate?: string | undefined;
}

export interface AgentLinkOptions {
  readonly natsUrl: string;
  readonly agentName: AgentName;
  readonly ref: ClusterRef;
  readonly logger: Logger;
  readonly maxMessageBytes: number;
  /** Largest reply accepted (default `maxMessageBytes`): a desired state can be larger than a report. */
  readonly maxReplyBytes?: number;
  readonly credentials: LinkCredentials;
  /** Real ms before a request gives up (default 5000). */
  readonly requestTimeoutMs?: number;
  /** Limits concurrent first connections (shared by a host). */
  readonly gate?: ConnectionGate;
  /** Valid control messages for this cluster. Invalid ones are counted and logged. */
  readonly onControl?: (message: ControlMessage) => void;
  /** Aborting before the connection is made cancels the open (rejects with the abort reason). */
  readonly signal?: AbortSignal;
  /** Connection name (default `<agent>/<cluster>`). */
  readonly connectionName?: string;
  /** Sent/failed/reconnect counters (bounded labels: the message kind). */
  readonly metrics?: LinkMetrics;
  /** Dead-link detection and reconnect backoff of the NATS connection. */
  readonly connection?: LinkConnectionOptions;
}

/** Real ms. See `AgentLinkConfig` in config.ts. */
export interface LinkConnectionOptions {
  readonly pingIntervalMs: number;
  readonly maxPingOut: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly connectTimeoutMs: number;
}

export type RequestFailure = 'timeout' | 'no-responders' | 'invalid-reply' | 'closed' | 'failed';

export type RequestResult =
  | { readonly ok: true; readonly reply: HubReply }
  | { readonly ok: false; readonly reason: RequestFailure; readonly error: Error };

export class AgentLink {
  private signer: MessageSigner;
  private signerKey: string;
  private certificate: string | undefined;
  private controlSub: Subscription | undefined;
  private invalidControl = 0;
  private closing: Promise<void> | undefined;
  private disconnected = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly opts: AgentLinkOptions,
  ) {
    this.signer = new MessageSigner(opts.credentials.privateKeyPem);
    this.signerKey = opts.credentials.privateKeyPem;
    this.certificate = opts.credentials.certificate;
  }

  /** Connects (through the gate, if any) and subscribes to the cluster's control subject. */
  static async open(opts: AgentLinkOptions): Promise<AgentLink> {
    const name = opts.connectionName ?? `${opts.agentName}/${opts.ref.name}`;
    const connectOnce = async (): Promise<NatsConnection> => {
      opts.signal?.throwIfAborted();
      const c = opts.connection;
      return connectNats({
        url: opts.natsUrl,
        name,
        logger: opts.logger,
        ...(c
          ? {
              pingIntervalMs: c.pingIntervalMs,
              maxPingOut: c.maxPingOut,
              backoff: { baseMs: c.reconnectBaseMs, maxMs: c.reconnectMaxMs },
              connectTimeoutMs: c.connectTimeoutMs,
            }
          : {}),
      });
    };
    const nc = await (opts.gate ? opts.gate.run(connectOnce) : connectOnce());
    const link = new AgentLink(nc, opts);
    link.watchStatus();
    if (opts.signal?.aborted) {
      await link.close();
      opts.signal.throwIfAborted();
    }
    link.subscribeControl();
    return link;
  }

  get ref(): ClusterRef {
    return this.opts.ref;
  }

  /** Connected to the broker now (false while reconnecting or once closed). */
  get connected(): boolean {
    return !this.isClosed && !this.disconnected;
  }

  /** Follows the connection's status: disconnects, reconnects (counted). */
  private watchStatus(): void {
    void (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === 'disconnect') this.disconnected = true;
        else if (s.type === 'reconnect') {
          this.disconnected = false;
          this.opts.metrics?.reconnected();
        }
      }
    })().catch(() => undefined);
  }

  get isClosed(): boolean {
    return this.closing !== undefined || this.nc.isClosed();
  }

  /** Control messages that failed validation. */
  get invalidControlMessages(): number {
    return this.invalidControl;
  }

  /** Switches key and/or certificate (e.g. a renewed certificate) without reconnecting. */
  setCredentials(credentials: LinkCredentials): void {
    if (credentials.privateKeyPem !== this.signerKey) {
      this.signer = new MessageSigner(credentials.privateKeyPem);
      this.signerKey = credentials.privateKeyPem;
    }
    this.certificate = credentials.certificate;
  }

  /**
   * Fire-and-forget, signed. False when the link is closed. With tracing on, a PRODUCER span (child of
   * `parent`, default the active context) whose context travels in the message headers.
   */
  publish(kind: MessageKind, message: AgentMessage, parent?: Context): boolean {
    if (this.isClosed) return false;
    const subject = subjects.agentToHub(this.opts.ref, this.opts.agentName, kind);
    const payload = encodeMessage(message);
    const headers = this.proof(subject, payload);
    const span = this.traceOutbound('publish', kind, subject, payload, headers, parent);
    try {
      this.nc.publish(subject, payload, { headers });
      this.opts.metrics?.sent(kind);
      span?.end();
      return true;
    } catch (err) {
      failSpan(span, 'failed', err instanceof Error ? err.message : String(err));
      span?.end();
      this.opts.metrics?.failed(kind);
      this.opts.logger.warn({ event: 'link.publish_failed', subject, err }, 'publish failed');
      return false;
    }
  }

  /**
   * Signed request; never throws. With tracing on, a CLIENT span (child of `parent`, default the
   * active context) whose context travels in the message headers; failed on a failure or error reply.
   */
  async request(
    kind: MessageKind,
    message: AgentMessage,
    timeoutMs?: number,
    parent?: Context,
  ): Promise<RequestResult> {
    const subject = subjects.agentToHub(this.opts.ref, this.opts.agentName, kind);
    if (this.isClosed) return { ok: false, reason: 'closed', error: new Error('link closed') };
    const payload = encodeMessage(message);
    const headers = this.proof(subject, payload);
    const span = this.traceOutbound('send', kind, subject, payload, headers, parent);
    const result = await this.exchange(subject, payload, headers, timeoutMs);
    if (result.ok && result.reply.type !== 'error') this.opts.metrics?.sent(kind);
    else this.opts.metrics?.failed(kind);
    if (span) {
      if (!result.ok) failSpan(span, result.reason, result.error.message);
      else if (result.reply.type === 'error') failSpan(span, result.reply.code, result.reply.message);
      span.end();
    }
    return result;
  }

  /** Starts the messaging span of an outbound message and puts its context in the headers (tracing on only). */
  private traceOutbound(
    operation: 'publish' | 'send',
    kind: MessageKind,
    subject: string,
    payload: Uint8Array,
    headers: MsgHdrs,
    parent: Context | undefined,
  ): Span | undefined {
    if (!tracingEnabled()) return undefined;
    const base = parent ?? context.active();
    const span = startMessagingSpan({
      operation,
      subject,
      template: agentSubjectTemplate(this.opts.agentName, kind),
      bodySize: payload.length,
      parent: base,
      attributes: { [ATTR.clusterName]: this.opts.ref.name },
    });
    injectTraceContext(trace.setSpan(base, span), headers);
    return span;
  }

  private async exchange(
    subject: string,
    payload: Uint8Array,
    headers: MsgHdrs,
    timeoutMs: number | undefined,
  ): Promise<RequestResult> {
    let data: Uint8Array;
    try {
      const msg = await this.nc.request(subject, payload, {
        timeout: timeoutMs ?? this.opts.requestTimeoutMs ?? 5000,
        headers,
      });
      data = msg.data;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const code = (err as { code?: unknown }).code;
      const reason: RequestFailure =
        code === 'TIMEOUT'
          ? 'timeout'
          : code === '503'
            ? 'no-responders'
            : code === 'CONNECTION_CLOSED' || this.isClosed
              ? 'closed'
              : 'failed';
      return { ok: false, reason, error };
    }
    try {
      const limit = this.opts.maxReplyBytes ?? this.opts.maxMessageBytes;
      return { ok: true, reply: decodeMessage(hubReplySchema, data, subject, limit) };
    } catch (err) {
      this.opts.logger.warn({ event: 'link.reply_invalid', subject, err }, 'invalid reply from the hub');
      return { ok: false, reason: 'invalid-reply', error: err as Error };
    }
  }

  /**
   * A subscription on the pair's own connection, for agent-specific protocols (cluster connect).
   * Undefined when the link is closed. Errors in the callback are the caller's to handle.
   */
  subscribeRaw(subject: string, callback: (msg: Msg) => void): Subscription | undefined {
    if (this.isClosed) return undefined;
    return this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) {
          this.opts.logger.warn({ event: 'link.subscription_error', subject, err }, 'subscription error');
          return;
        }
        callback(msg);
      },
    });
  }

  /** Unsigned publish on the pair's connection (data frames of an agent-specific protocol). */
  publishRaw(subject: string, payload: Uint8Array, hdrs?: MsgHdrs): boolean {
    if (this.isClosed) return false;
    try {
      this.nc.publish(subject, payload, hdrs ? { headers: hdrs } : undefined);
      return true;
    } catch (err) {
      this.opts.logger.warn({ event: 'link.publish_failed', subject, err }, 'publish failed');
      return false;
    }
  }

  /** Drains (bounded) then closes; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await Promise.race([this.nc.drain(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      } catch {
        // already closed or closing: fall through to close()
      }
      if (!this.nc.isClosed()) await this.nc.close();
    })();
    return this.closing;
  }

  private proof(subject: string, payload: Uint8Array): MsgHdrs {
    const h = headers();
    h.set(HEADER_SIGNATURE, this.signer.sign(subject, payload));
    if (this.certificate !== undefined) h.set(HEADER_IDENTITY, this.certificate);
    return h;
  }

  private subscribeControl(): void {
    const subject = subjects.control(this.opts.ref);
    this.controlSub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) {
          this.opts.logger.warn({ event: 'link.control_error', subject, err }, 'control subscription error');
          return;
        }
        let control: ControlMessage;
        try {
          control = decodeMessage(controlMessageSchema, msg.data, subject, this.opts.maxMessageBytes);
        } catch (e) {
          this.invalidControl++;
          this.opts.logger.warn(
            { event: 'link.control_invalid', subject, count: this.invalidControl, err: e },
            'invalid control message ignored',
          );
          return;
        }
        try {
          this.opts.onControl?.(control);
        } catch (e) {
          this.opts.logger.error(
            { event: 'link.control_handler_failed', subject, err: e },
            'control handler threw',
          );
        }
      },
    });
  }

  /** For tests: the control subscription is live. */
  get subscribed(): boolean {
    return this.controlSub !== undefined && !this.controlSub.isClosed();
  }
}

// ---------------------------------------------------------------------------------------------
// AgentHost
// ---------------------------------------------------------------------------------------------

/** What an instance knows about its cluster. `state` is always present for a running instance. */
export interface ClusterSnapshot {
  readonly name: string;
  readonly state: ClusterState;
  readonly onboarding: OnboardingSecret | undefined;
  readonly identity: IdentitySecret | undefined;
}

export interface ClusterChanges {
  /** The cluster state's generation changed. */
  readonly state: boolean;
  /** The onboarding secret was written or deleted. */
  readonly onboarding: boolean;
  /** The identity secret was written or deleted. */
  readonly identity: boolean;
}

export interface AgentInstance {
  /** Called after the files changed; must not throw (errors are logged by the host if it does). */
  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void;
  /** Stops timers and closes the link; safe to call twice. */
  close(): Promise<void>;
  /** Reports waiting to be sent (an outbox), for the metrics. */
  outboxDepth?(): number;
}

export interface AgentContext {
  readonly agentName: AgentName;
  readonly clusterName: string;
  /** Child logger with `cluster` and `agent` bound. */
  readonly logger: Logger;
  readonly store: ClusterStore;
  /** Opens this pair's own NATS connection through the host's connection gate. */
  openLink(
    ref: ClusterRef,
    credentials: LinkCredentials,
    options?: {
      onControl?: (message: ControlMessage) => void;
      signal?: AbortSignal;
      maxReplyBytes?: number;
    },
  ): Promise<AgentLink>;
}

export type AgentFactory = (ctx: AgentContext, snapshot: ClusterSnapshot) => AgentInstance;

export interface AgentHostOptions {
  readonly agentName: AgentName;
  readonly store: ClusterStore;
  /** Real ms between polls of the cluster store. */
  readonly pollIntervalMs: number;
  readonly logger: Logger;
  readonly factory: AgentFactory;
  readonly natsUrl: string;
  readonly maxMessageBytes: number;
  /** Real ms (default 5000). */
  readonly requestTimeoutMs?: number;
  readonly gate?: ConnectionGateOptions;
  /** Dead-link detection and reconnect backoff of every link (default: nats.ts defaults). */
  readonly connection?: LinkConnectionOptions;
  /** Clusters stat'ed per event-loop turn during a poll (default 250). */
  readonly statSlice?: number;
  /** Clusters whose changed files are read in parallel (default 64). */
  readonly readConcurrency?: number;
  /** Counters every link of this host reports to. */
  readonly linkMetrics?: LinkMetrics;
  /**
   * Real ms between refreshes of each running instance's status file (`status/<agent>.json`, the
   * emulated pod status metrics-agent reads); undefined = no status files. Removed when the instance stops.
   */
  readonly statusIntervalMs?: number;
}

interface Entry {
  versions: FileVersions;
  state: ClusterState | undefined;
  onboarding: OnboardingSecret | undefined;
  identity: IdentitySecret | undefined;
  instance: AgentInstance | undefined;
  closing: Promise<void> | undefined;
  /** Versions at which the factory last threw, and when to try again anyway. */
  failedStart?: { key: string; retryAtMs: number } | undefined;
  /** Files changed since the instance last heard, accumulated while it could not be told. */
  pending: { state: boolean; onboarding: boolean; identity: boolean };
}

/** Real ms before retrying an instance whose factory threw, when no file changed. */
const FAILED_START_RETRY_MS = 30_000;

const NO_FILES: FileVersions = { state: undefined, onboarding: undefined, identity: undefined };

export class AgentHost {
  private readonly entries = new Map<string, Entry>();
  private readonly gate: ConnectionGate;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private closed = false;
  private closingAll: Promise<void> | undefined;
  private readonly links = new Set<AgentLink>();
  private statusTimer: NodeJS.Timeout | undefined;
  /** Status writes in flight, awaited before a status file is removed. */
  private readonly statusWrites = new Map<string, Promise<void>>();
  private readonly startedAtMs = Date.now();
  private beating: Promise<void> | undefined;

  constructor(private readonly opts: AgentHostOptions) {
    this.gate = new ConnectionGate(opts.gate);
  }

  /** Starts polling (first poll at once). */
  start(): void {
    if (this.closed || this.timer || this.polling) return;
    this.schedule(0);
    if (this.opts.statusIntervalMs !== undefined && !this.statusTimer) {
      this.statusTimer = setInterval(() => this.refreshStatuses(), this.opts.statusIntervalMs);
      this.statusTimer.unref();
      this.refreshStatuses();
    }
  }

  /** The process's beat keeps every status file it wrote fresh (never throws; failures are logged). */
  private refreshStatuses(): void {
    if (this.closed || this.beating) return;
    this.beating = this.opts.store
      .writeProcessBeat({
        agent: this.opts.agentName,
        pid: process.pid,
        startedAtMs: this.startedAtMs,
        lastSeenMs: Date.now(),
      })
      .catch((err: unknown) => {
        this.opts.logger.warn({ event: 'host.beat_write_failed', err }, 'process beat write failed');
      })
      .finally(() => {
        this.beating = undefined;
      });
  }

  private writeStatus(name: string): void {
    const e = this.entries.get(name);
    if (this.opts.statusIntervalMs === undefined || this.closed || !e?.instance || !e.state) return;
    if (this.statusWrites.has(name)) return;
    const now = Date.now();
    const write = this.opts.store
      .writeAgentStatus(name, {
        agent: this.opts.agentName,
        version: e.state.agentVersion,
        pid: process.pid,
        startedAtMs: this.startedAtMs,
        lastSeenMs: now,
        state: 'Running',
        errors: [],
      })
      .catch((err: unknown) => {
        this.opts.logger.warn(
          { event: 'host.status_write_failed', cluster: name, err },
          'status write failed',
        );
      })
      .finally(() => this.statusWrites.delete(name));
    this.statusWrites.set(name, write);
  }

  /** Aggregate figures for the metrics (one process hosts many clusters: no per-cluster values). */
  stats(): AgentHostStats {
    let running = 0;
    let outboxDepth = 0;
    const certificateExpiriesMs: number[] = [];
    for (const e of this.entries.values()) {
      if (e.instance) running++;
      outboxDepth += e.instance?.outboxDepth?.() ?? 0;
      const t = e.identity ? Date.parse(e.identity['azure-identity-certificate-expiration-time']) : NaN;
      if (Number.isFinite(t)) certificateExpiriesMs.push(t);
    }
    let linksConnected = 0;
    for (const l of this.links) {
      if (l.isClosed) this.links.delete(l);
      else if (l.connected) linksConnected++;
    }
    return {
      clusters: this.entries.size,
      running,
      linksOpen: this.links.size,
      linksConnected,
      certificateExpiriesMs,
      outboxDepth,
    };
  }

  /** Clusters with a running instance. */
  get running(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.instance) n++;
    return n;
  }

  /** One poll: list, stat, read changed files, reconcile. Never throws. */
  async pollOnce(): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = this.poll().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  /** Stops polling and closes every instance. Safe to call twice. */
  close(): Promise<void> {
    this.closingAll ??= (async () => {
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      if (this.statusTimer) clearInterval(this.statusTimer);
      this.statusTimer = undefined;
      await this.polling;
      await Promise.all([...this.entries.keys()].map((name) => this.stopInstance(name, 'host closing')));
      await Promise.all([...this.entries.values()].map((e) => e.closing));
    })();
    return this.closingAll;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pollOnce().finally(() => {
        if (!this.closed) this.schedule(this.opts.pollIntervalMs);
      });
    }, delayMs);
  }

  private async poll(): Promise<void> {
    const log = this.opts.logger;
    try {
      const names = await this.opts.store.list();
      const seen = new Map<string, FileVersions>();
      // Synchronous stats in slices: far cheaper than 3,000 thread-pool round trips, and the event
      // loop gets a turn between slices.
      const slice = this.opts.statSlice ?? 250;
      for (let i = 0; i < names.length; i += slice) {
        if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        for (const name of names.slice(i, i + slice)) seen.set(name, this.statCluster(name));
      }
      if (this.closed) return;
      const known = new Map<string, FileVersions>();
      for (const [name, e] of this.entries) known.set(name, e.versions);
      const diff = diffVersions(known, seen);
      for (const name of diff.removed) {
        await this.guard(name, 'host.cluster_removed_failed', () => this.forget(name));
      }
      const work = new Set<string>([...diff.changed.keys()]);
      // Clusters whose previous instance was closing last time may be due a (re)start now.
      for (const [name, e] of this.entries)
        if (!e.instance && e.closing === undefined && agentWanted(e.state, this.opts.agentName))
          work.add(name);
      await forEachLimit([...work], this.opts.readConcurrency ?? 64, (name) =>
        this.guard(name, 'host.cluster_failed', () =>
          this.reconcile(name, seen.get(name) ?? NO_FILES, diff.changed.get(name) ?? []),
        ),
      );
    } catch (err) {
      log.error({ event: 'host.poll_failed', err }, 'cluster store poll failed');
    }
  }

  private statCluster(name: string): FileVersions {
    const dir = this.opts.store.dir(name);
    return {
      state: fileVersion(join(dir, 'cluster.json')),
      onboarding: fileVersion(join(dir, 'secrets', `${SECRET_ONBOARDING}.json`)),
      identity: fileVersion(join(dir, 'secrets', `${SECRET_IDENTITY}.json`)),
    };
  }

  private async reconcile(
    name: string,
    versions: FileVersions,
    files: readonly ClusterFile[],
  ): Promise<void> {
    let e = this.entries.get(name);
    if (!e) {
      e = {
        versions: NO_FILES,
        state: undefined,
        onboarding: undefined,
        identity: undefined,
        instance: undefined,
        closing: undefined,
        pending: { state: false, onboarding: false, identity: false },
      };
      this.entries.set(name, e);
    }
    const store = this.opts.store;
    const previousGeneration = e.state?.generation;
    for (const file of files) {
      try {
        if (file === 'state')
          e.state = versions.state === undefined ? undefined : await store.readState(name);
        else if (file === 'onboarding')
          e.onboarding = versions.onboarding === undefined ? undefined : await store.readOnboarding(name);
        else e.identity = versions.identity === undefined ? undefined : await store.readIdentity(name);
        if (file !== 'state') e.pending[file] = true;
      } catch (err) {
        // Keep the last good value; the version is recorded so a broken file is reported once.
        this.opts.logger.warn(
          { event: 'host.read_failed', cluster: name, file, err },
          'could not read a cluster store file',
        );
      }
    }
    e.versions = versions;
    if (this.closed) return;
    if (e.state && e.state.generation !== previousGeneration) e.pending.state = true;

    const wanted = agentWanted(e.state, this.opts.agentName);
    if (!wanted) {
      if (e.instance) {
        const why = e.state ? 'agent stopped for this cluster' : 'cluster state missing';
        await this.stopInstance(name, why);
      }
      return;
    }
    if (e.closing) return; // started again on a later poll, once the old instance has closed
    const snapshot: ClusterSnapshot = {
      name,
      state: e.state as ClusterState,
      onboarding: e.onboarding,
      identity: e.identity,
    };
    if (!e.instance) {
      // After a failed start, try again when a file changes or after a pause, not on every poll.
      const key = `${versions.state}|${versions.onboarding}|${versions.identity}`;
      if (e.failedStart && e.failedStart.key === key && Date.now() < e.failedStart.retryAtMs) return;
      e.pending = { state: false, onboarding: false, identity: false };
      try {
        e.instance = this.opts.factory(this.context(name), snapshot);
        e.failedStart = undefined;
        this.writeStatus(name);
      } catch (err) {
        e.failedStart = { key, retryAtMs: Date.now() + FAILED_START_RETRY_MS };
        throw err;
      }
      this.opts.logger.info(
        { event: 'host.instance_started', cluster: name, agent: this.opts.agentName },
        'agent instance started',
      );
      return;
    }
    const changes = e.pending;
    if (changes.state || changes.onboarding || changes.identity) {
      e.pending = { state: false, onboarding: false, identity: false };
      e.instance.update(snapshot, changes);
    }
  }

  private async forget(name: string): Promise<void> {
    await this.stopInstance(name, 'cluster removed');
    const e = this.entries.get(name);
    await e?.closing;
    // Only drop it if nothing re-created it meanwhile.
    if (e && !e.instance) this.entries.delete(name);
  }

  private async stopInstance(name: string, reason: string): Promise<void> {
    const e = this.entries.get(name);
    if (!e?.instance) return;
    const instance = e.instance;
    e.instance = undefined;
    this.opts.logger.info(
      { event: 'host.instance_stopping', cluster: name, agent: this.opts.agentName, reason },
      'agent instance stopping',
    );
    e.closing = instance
      .close()
      .catch((err: unknown) => {
        this.opts.logger.error({ event: 'host.instance_close_failed', cluster: name, err }, 'close failed');
      })
      .finally(() => {
        e.closing = undefined;
      });
    await e.closing;
    await this.statusWrites.get(name);
    if (this.opts.statusIntervalMs !== undefined)
      await this.opts.store.removeAgentStatus(name, this.opts.agentName).catch((err: unknown) => {
        this.opts.logger.warn(
          { event: 'host.status_remove_failed', cluster: name, err },
          'status remove failed',
        );
      });
  }

  private async guard(name: string, event: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.opts.logger.error({ event, cluster: name, err }, 'cluster handling failed');
    }
  }

  private context(name: string): AgentContext {
    const logger = this.opts.logger.child({ cluster: name, agent: this.opts.agentName });
    const { natsUrl, maxMessageBytes, requestTimeoutMs, agentName, connection } = this.opts;
    return {
      agentName,
      clusterName: name,
      logger,
      store: this.opts.store,
      openLink: (ref, credentials, options = {}) =>
        AgentLink.open({
          natsUrl,
          agentName,
          ref,
          logger,
          maxMessageBytes,
          credentials,
          gate: this.gate,
          ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
          ...(connection ? { connection } : {}),
          ...(options.onControl ? { onControl: options.onControl } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.maxReplyBytes === undefined ? {} : { maxReplyBytes: options.maxReplyBytes }),
          ...(this.opts.linkMetrics ? { metrics: this.opts.linkMetrics } : {}),
        }).then((link) => {
          this.links.add(link);
          return link;
        }),
    };
  }
}

function fileVersion(path: string): string | undefined {
  try {
    const s = statSync(path, { throwIfNoEntry: false });
    return s ? `${s.ino}:${s.mtimeMs}:${s.size}` : undefined;
  } catch {
    return undefined;
  }
}

async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, () => worker()));
}

// ---------------------------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------------------------

/** ISO string for a cluster-state timestamp, `fallbackMs` when it does not parse. */
export function toIso(value: string, fallbackMs: number): string {
  const t = Date.parse(value);
  return new Date(Number.isNaN(t) ? fallbackMs : t).toISOString();
}

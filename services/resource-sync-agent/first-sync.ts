/**
 * Why this file exists: the first sync's trace, split out of resource-sync.ts. One onboarding is one
 * trace: the first sync with a certificate continues the trace that clusteridentityoperator stored in
 * the identity secret, and a memo remembers which certificate's first sync is done.
 */
import { createHash } from 'node:crypto';
import { trace, type Context, type Span } from '@opentelemetry/api';
import type { AgentContext } from '../../agent-runtime/agent-instance.js';
import type { LinkedAgentStatus } from '../../agent-runtime/linked-agent.js';
import type { IdentitySecret } from '../../contract/index.js';
import { tracingEnabled } from '../../platform/tracing.js';
import { contextFromTraceFields } from '../../platform/tracing-propagation.js';
import { ATTR, failSpan, startInternalSpan } from '../../platform/tracing-spans.js';
import { AGENT } from './agent.js';

/** What the first-sync trace uses of the agent. */
export interface FirstSyncHost {
  readonly ctx: AgentContext;
  /** Background work the agent waits for when it closes. */
  readonly endings: Set<Promise<void>>;
  /** Certificate in use (or last used, when halted or disconnected). */
  certificate(): string | undefined;
  status(): LinkedAgentStatus;
}

export class FirstSync {
  /** The first sync of a new certificate, continuing its onboarding trace (tracing on only). */
  private current: { readonly span: Span; readonly ctx: Context; readonly fingerprint: string } | undefined;
  /** Settles once it is known whether this certificate's first sync is still to come (memo read). */
  decided: Promise<void> = Promise.resolve();

  constructor(private readonly host: FirstSyncHost) {}

  /** The trace context to send under while the first sync lasts. */
  get ctx(): Context | undefined {
    return this.current?.ctx;
  }

  private get log(): AgentContext['logger'] {
    return this.host.ctx.logger;
  }

  /**
   * One onboarding is one trace: the first sync with a certificate continues the trace that
   * clusteridentityoperator stored in the identity secret (heartbeat and metadata until the first ack).
   */
  begin(identity: IdentitySecret): void {
    this.end('superseded');
    if (!tracingEnabled() || identity.traceparent === undefined) return;
    const parent = contextFromTraceFields(identity);
    if (!trace.getSpanContext(parent)) return;
    const fingerprint = certificateFingerprint(identity.certificate);
    const { store, clusterName } = this.host.ctx;
    // A restarted agent finds this certificate's first sync already done: its onboarding trace is over.
    this.decided = store.readAgentMemo(clusterName, AGENT).then(
      (memo) => {
        if (memo?.firstSyncCertificate === fingerprint || this.host.certificate() !== identity.certificate)
          return;
        const status = this.host.status();
        if (status !== 'connecting' && status !== 'up') return;
        this.end('superseded');
        const span = startInternalSpan('first sync', parent, { [ATTR.clusterName]: clusterName });
        this.current = { span, ctx: trace.setSpan(parent, span), fingerprint };
      },
      (err: unknown) => this.log.warn({ event: 'sync.memo_unreadable', err }, 'agent memo unreadable'),
    );
  }

  /** Ends the first-sync span; `failure` when it ended without an ack. */
  end(failure?: string, message?: string): void {
    const first = this.current;
    if (!first) return;
    this.current = undefined;
    if (failure !== undefined) failSpan(first.span, failure, message);
    first.span.end();
    if (failure !== undefined) return;
    const write = this.host.ctx.store
      .writeAgentMemo(this.host.ctx.clusterName, AGENT, { firstSyncCertificate: first.fingerprint })
      .catch((err: unknown) =>
        this.log.warn({ event: 'sync.memo_write_failed', err }, 'agent memo write failed'),
      );
    const endings = this.host.endings;
    endings.add(write);
    void write.finally(() => endings.delete(write));
  }
}

function certificateFingerprint(certificate: string): string {
  return createHash('sha256').update(certificate).digest('hex');
}

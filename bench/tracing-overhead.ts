/**
 * `node dist/bench/tracing-overhead.js`: what tracing costs the hub per inbound message. Runs the hub's
 * real NATS boundary (AgentBus.handle: subject parsing, size check, JSON + schema validation,
 * dispatch) on a heartbeat in process, with a stub hub behind it, first with tracing off (no endpoint:
 * the default), then on (SDK started, OTLP/HTTP exporter pointed at a closed port with a long batch
 * delay, so nothing is sent while measuring). Prints ns per message (best and median of 5 rounds).
 */
import { headers, type Msg } from 'nats';
import { pino } from 'pino';
import { AgentBus, type AgentBusOptions } from '../services/hub/agent-bus/agent-bus.js';
import type { AgentMessages } from '../services/hub/agent-bus/agent-protocol.js';
import type { HubMetrics } from '../services/hub/metrics.js';
import { initTelemetry } from '../platform/tracing.js';

function measure(fn: () => void, n: number): { best: number; median: number } {
  for (let i = 0; i < Math.min(n, 20_000); i++) fn();
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - t) / n);
  }
  rounds.sort((a, b) => a - b);
  return { best: rounds[0] ?? NaN, median: rounds[2] ?? NaN };
}

function main(): void {
  const logger = pino({ level: 'silent' });
  const record = { key: 'sub.rg.c1' };
  const hub = { authenticate: () => ({ record, claims: {} }), heartbeat: () => undefined };
  const bus = new AgentBus({
    protocol: hub as unknown as AgentMessages,
    // A heartbeat never reaches the configuration.
    configuration: {} as AgentBusOptions['configuration'],
    metrics: { rejected: { inc: () => undefined } } as unknown as HubMetrics,
    logger,
    maxMessageBytes: 65_536,
  });
  const h = headers();
  h.set('Arc-Identity', 'certificate');
  h.set('Arc-Signature', 'signature');
  h.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  const heartbeat = {
    v: 1,
    type: 'heartbeat',
    agent: 'resource-sync-agent',
    agentVersion: '1.21.10',
    sentAt: new Date().toISOString(),
  };
  const msg = {
    subject: 'arc.v1.sub.rg.c1.resource-sync-agent.heartbeat',
    data: new TextEncoder().encode(JSON.stringify(heartbeat)),
    headers: h,
    reply: '',
  } as unknown as Msg;
  const handle = (): void => bus.handle(msg);

  const off = measure(handle, 200_000);
  const telemetry = initTelemetry('hub', {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' },
    logger,
  });
  if (!telemetry.enabled) throw new Error('tracing did not start');
  const on = measure(handle, 50_000);
  const row = (label: string, r: { best: number; median: number }): string =>
    `${label.padEnd(12)} ${r.best.toFixed(0).padStart(6)} ns/msg  (median ${r.median.toFixed(0)})`;
  console.log(row('tracing off', off));
  console.log(row('tracing on', on));
  console.log(JSON.stringify({ offNs: Math.round(off.best), onNs: Math.round(on.best) }));
  void telemetry.shutdown().then(() => process.exit(0));
}

// The exporter reads process.env itself: a closed port, and a batch delay longer than the run.
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:9';
process.env.OTEL_BSP_SCHEDULE_DELAY = '600000';
main();

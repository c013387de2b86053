/**
 * OpenTelemetry across NATS: a real OTLP/HTTP receiver (JSON), a real fleet (nats-server, hub, agent
 * processes) exporting to it. One onboarding is one trace spanning clusteridentityoperator, the hub
 * and resource-sync-agent, with correct parent links and messaging attributes. Then the collector
 * goes away: the fleet carries on and each process reports the failed exports once, not per batch.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/wait.js';

/** OTLP span kinds (the protocol's enum: SpanKind + 1). */
const KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpKeyValue {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpKeyValue[];
  events?: Array<{ name: string; attributes?: OtlpKeyValue[] }>;
  status?: { code?: number };
}
interface OtlpRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: Array<{ spans?: OtlpSpan[] }>;
  }>;
}

interface ReceivedSpan {
  readonly service: string;
  /** `process.pid` resource attribute: which process (a restart is a new one). */
  readonly pid: number | undefined;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly events: readonly string[];
}

function attrs(list: OtlpKeyValue[] | undefined): Record<string, string | number | boolean | undefined> {
  const out: Record<string, string | number | boolean | undefined> = {};
  for (const { key, value } of list ?? [])
    out[key] =
      value.stringValue ??
      (value.intValue === undefined ? undefined : Number(value.intValue)) ??
      value.boolValue ??
      value.doubleValue;
  return out;
}

/** A minimal OTLP/HTTP JSON traces receiver on a free port. */
class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  requests = 0;
  rejected = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<OtlpReceiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const receiver = new OtlpReceiver(server, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const json = (req.headers['content-type'] ?? '').startsWith('application/json');
        if (req.method !== 'POST' || req.url !== '/v1/traces' || !json) {
          receiver.rejected++;
          res.writeHead(404).end();
          return;
        }
        try {
          receiver.accept(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest);
        } catch {
          receiver.rejected++;
          res.writeHead(400).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    return receiver;
  }

  private accept(body: OtlpRequest): void {
    this.requests++;
    for (const rs of body.resourceSpans ?? []) {
      const resource = attrs(rs.resource?.attributes);
      const service = String(resource['service.name']);
      const pid = typeof resource['process.pid'] === 'number' ? resource['process.pid'] : undefined;
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? [])
          this.spans.push({
            service,
            pid,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId || undefined,
            name: s.name,
            kind: s.kind,
            attributes: attrs(s.attributes),
            events: (s.events ?? []).map((e) => e.name),
          });
    }
  }

  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let receiver: OtlpReceiver;
let fleet: TestFleet;
let clusterName: string;

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  fleet = await TestFleet.start({
    clusters: 1,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    },
  });
  clusterName = fleet.clusters[0]?.name ?? '';
});

afterAll(async () => {
  await fleet?.stop();
  await receiver?.close();
});

function onboardingTrace(): ReceivedSpan[] {
  const root = receiver.spans.find((s) => s.name === 'onboard' && s.service === 'clusteridentityoperator');
  return root ? receiver.trace(root.traceId) : [];
}

describe('tracing across NATS', () => {
  it('one onboarding is one trace over clusteridentityoperator, the hub and resource-sync-agent', async () => {
    await fleet.waitStatus(clusterName, 'Connected', 30_000);
    const spans = await waitFor(onboardingTrace, {
      timeoutMs: 20_000,
      intervalMs: 200,
      until: (t) =>
        t.some((s) => s.name === 'first sync') &&
        t.some((s) => s.events.includes('marked Connected')) &&
        t.some((s) => s.events.includes('certificate issued')),
      message: 'the onboarding trace with its first sync and the hub marking it Connected',
    }).catch((err: unknown) => {
      throw new Error(
        `${String(err)}\nreceived ${receiver.spans.length} spans: ${receiver.spans.map((s) => `${s.service}/${s.name}`).join(', ')}\n${fleet.diagnostics()}`,
      );
    });

    expect(new Set(spans.map((s) => s.service))).toEqual(
      new Set(['clusteridentityoperator', 'hub', 'resource-sync-agent']),
    );
    // Correct parent links: one root, every other span's parent is in the trace.
    const ids = new Set(spans.map((s) => s.spanId));
    expect(ids.size).toBe(spans.length);
    const roots = spans.filter((s) => s.parentSpanId === undefined);
    expect(roots.map((s) => `${s.service}/${s.name}`)).toEqual(['clusteridentityoperator/onboard']);
    for (const s of spans)
      if (s.parentSpanId !== undefined) expect(ids.has(s.parentSpanId), s.name).toBe(true);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan): ReceivedSpan | undefined =>
      s.parentSpanId === undefined ? undefined : byId.get(s.parentSpanId);

    // clusteridentityoperator: onboard → send register (CLIENT) → hub: process register (SERVER).
    const register = 'arc.v1.{subscription}.{resourceGroup}.{cluster}.clusteridentityoperator.register';
    const send = spans.find((s) => s.name === `send ${register}`);
    expect(send).toMatchObject({ service: 'clusteridentityoperator', kind: KIND.CLIENT });
    expect(parentOf(send as ReceivedSpan)?.name).toBe('onboard');
    const processRegister = spans.find((s) => s.events.includes('certificate issued'));
    expect(processRegister).toMatchObject({ service: 'hub', name: `process ${register}`, kind: KIND.SERVER });
    expect(parentOf(processRegister as ReceivedSpan)?.spanId).toBe(send?.spanId);

    // resource-sync-agent continues the trace from the identity secret: onboard → first sync → messages.
    const firstSync = spans.find((s) => s.name === 'first sync');
    expect(firstSync).toMatchObject({ service: 'resource-sync-agent', kind: KIND.INTERNAL });
    expect(parentOf(firstSync as ReceivedSpan)?.name).toBe('onboard');
    const connected = spans.filter((s) => s.events.includes('marked Connected'));
    expect(connected).toHaveLength(1);
    const marking = connected[0] as ReceivedSpan;
    expect(marking.service).toBe('hub');
    expect([KIND.CONSUMER, KIND.SERVER]).toContain(marking.kind);
    const sender = parentOf(marking);
    expect(sender).toMatchObject({ service: 'resource-sync-agent' });
    expect(parentOf(sender as ReceivedSpan)?.spanId).toBe(firstSync?.spanId);
    expect(
      sender?.kind === KIND.PRODUCER ? sender.name.startsWith('publish ') : sender?.name.startsWith('send '),
    ).toBe(true);

    // Messaging semantic conventions on every message span, on both sides.
    const messaging = spans.filter((s) => s.attributes['messaging.system'] !== undefined);
    expect(messaging.length).toBeGreaterThanOrEqual(4);
    for (const s of messaging) {
      expect(s.attributes['messaging.system'], s.name).toBe('nats');
      expect(String(s.attributes['messaging.destination.name'])).toMatch(/^arc\.v1\.[^.]+\.[^.]+\.[^.]+\./);
      expect(s.name).toBe(
        `${String(s.attributes['messaging.operation.name'])} ${String(s.attributes['messaging.destination.template'])}`,
      );
      const type = s.attributes['messaging.operation.type'];
      if (s.service === 'hub') {
        expect(type).toBe('process');
        expect(s.attributes['messaging.consumer.group.name']).toBe('hub');
      } else expect(type).toBe('send');
      expect(s.attributes['messaging.message.body.size']).toBeGreaterThan(0);
    }
  });

  it('traces later heartbeats on their own, publisher to hub', async () => {
    const onboarding = new Set(onboardingTrace().map((s) => s.traceId));
    const heartbeat = 'arc.v1.{subscription}.{resourceGroup}.{cluster}.resource-sync-agent.heartbeat';
    const pair = await waitFor(
      () => {
        const consumers = receiver.spans.filter(
          (s) => s.service === 'hub' && s.name === `process ${heartbeat}` && !onboarding.has(s.traceId),
        );
        for (const c of consumers) {
          const producer = receiver.spans.find((p) => p.spanId === c.parentSpanId && p.traceId === c.traceId);
          if (producer) return { producer, consumer: c };
        }
        return undefined;
      },
      {
        timeoutMs: 20_000,
        intervalMs: 200,
        until: (p) => p !== undefined,
        message: 'a steady-state heartbeat traced from producer to hub',
      },
    );
    if (!pair) throw new Error('unreachable');
    expect(pair.producer).toMatchObject({
      service: 'resource-sync-agent',
      kind: KIND.PRODUCER,
      name: `publish ${heartbeat}`,
      parentSpanId: undefined,
    });
    expect(pair.consumer.kind).toBe(KIND.CONSUMER);
  });

  it('does not put a restarted resource-sync-agent back into the onboarding trace', async () => {
    const agent = fleet.agent('resource-sync-agent');
    const before = onboardingTrace();
    await agent.restart();
    const pid = agent.pid;
    // The new process traces its messages (its first ones included) ...
    await waitFor(() => receiver.spans.some((s) => s.service === 'resource-sync-agent' && s.pid === pid), {
      timeoutMs: 20_000,
      intervalMs: 200,
      message: 'spans from the restarted resource-sync-agent',
    });
    // ... as traces of their own: the certificate was issued before it started.
    const after = onboardingTrace();
    expect(after.filter((s) => s.pid === pid)).toEqual([]);
    expect(after.filter((s) => s.name === 'first sync')).toHaveLength(1);
    expect(after.length).toBe(before.length);
  });

  it('keeps the fleet working when the collector goes away, reporting failed exports once per process', async () => {
    await receiver.close();
    // Heartbeats keep producing spans in these two (clusteridentityoperator is idle until renewal);
    // each fails to export them and says so once.
    const services = ['hub', 'resource-sync-agent'] as const;
    await waitFor(
      () => services.every((s) => fleet.service(s).events('telemetry.export_failed').length > 0),
      {
        timeoutMs: 20_000,
        intervalMs: 200,
        message: 'every process to report the failed export',
      },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
    });
    const beats = (await fleet.get(clusterName)).properties.lastConnectivityTime;
    await waitFor(() => fleet.get(clusterName), {
      timeoutMs: 20_000,
      intervalMs: 250,
      until: (c) =>
        c.properties.connectivityStatus === 'Connected' && c.properties.lastConnectivityTime !== beats,
      message: 'heartbeats still arriving after the collector went away',
    });
    for (const s of services) {
      expect(fleet.service(s).running, s).toBe(true);
      // One line per distinct failure a minute (a request cut by the close may add a second kind).
      const lines = fleet.service(s).events('telemetry.export_failed');
      expect(lines.length, s).toBeGreaterThanOrEqual(1);
      expect(lines.length, s).toBeLessThanOrEqual(2);
    }
  });
});

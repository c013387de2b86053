import { describe, expect, it } from 'vitest';
import { FakeClock, SimClock } from '../../platform/clock.js';
import { compileCommonConfig, compileTimings, DEFAULT_TIMINGS } from '../../platform/settings.js';
import { parseDuration } from '../../platform/duration.js';
import {
  ConfigError,
  MessageRejectedError,
  agentMessageSchema,
  decodeMessage,
  encodeMessage,
  clusterKey,
  decodeToken,
  encodeToken,
  parseAgentSubject,
  subjects,
  PROTOCOL_VERSION,
} from '../../contract/index.js';

function rejection(fn: () => unknown): { code: string; message: string } | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof MessageRejectedError) return { code: err.code, message: err.message };
    throw err;
  }
  return undefined;
}

const enc = (s: string) => new TextEncoder().encode(s);
const heartbeat = {
  v: PROTOCOL_VERSION,
  type: 'heartbeat',
  agent: 'resource-sync-agent',
  agentVersion: '1.21.10',
  sentAt: '2026-01-01T00:00:00.000Z',
};

describe('message boundary', () => {
  it('accepts a valid message', () => {
    expect(decodeMessage(agentMessageSchema, encodeMessage(heartbeat), 's', 1024).type).toBe('heartbeat');
  });
  it('rejects bad JSON, invalid UTF-8, wrong schema, unknown fields, oversize and another protocol version', () => {
    expect(rejection(() => decodeMessage(agentMessageSchema, enc('{nope'), 's', 1024))?.code).toBe(
      'InvalidMessage',
    );
    expect(
      rejection(() => decodeMessage(agentMessageSchema, new Uint8Array([0xff, 0xfe]), 's', 1024))?.code,
    ).toBe('InvalidMessage');
    const wrong = rejection(() =>
      decodeMessage(agentMessageSchema, encodeMessage({ ...heartbeat, agentVersion: 7 }), 's', 1024),
    );
    expect(wrong).toEqual({ code: 'InvalidMessage', message: expect.stringContaining('agentVersion') });
    expect(
      rejection(() => decodeMessage(agentMessageSchema, encodeMessage({ ...heartbeat, extra: 1 }), 's', 1024))
        ?.code,
    ).toBe('InvalidMessage');
    expect(rejection(() => decodeMessage(agentMessageSchema, encodeMessage(heartbeat), 's', 10))?.code).toBe(
      'MessageTooLarge',
    );
    expect(
      rejection(() => decodeMessage(agentMessageSchema, encodeMessage({ ...heartbeat, v: 1 }), 's', 1024))
        ?.code,
    ).toBe('UnsupportedProtocolVersion');
  });
});

describe('subjects', () => {
  const ref = {
    subscriptionId: '00000000-0000-0000-0000-000000000001',
    resourceGroup: 'My.RG(1)',
    name: 'Arc_01',
  };
  it('encodes identity into subject-safe, KV-safe tokens, reversibly and case-insensitively', () => {
    const token = encodeToken('My.RG(1)');
    expect(token).toMatch(/^[a-z0-9_-]+$/);
    expect(decodeToken(token)).toBe('my.rg(1)');
    expect(clusterKey(ref)).toBe(clusterKey({ ...ref, name: 'ARC_01' }));
    expect(clusterKey(ref).split('.')).toHaveLength(3);
  });
  it('round-trips agent subjects and refuses foreign ones', () => {
    const s = subjects.agentToHub(ref, 'resource-sync-agent', 'heartbeat');
    expect(parseAgentSubject(s)).toEqual({
      key: clusterKey(ref),
      agent: 'resource-sync-agent',
      kind: 'heartbeat',
    });
    expect(parseAgentSubject('arc.v1.a.b.c.evil-agent.heartbeat')).toBeUndefined();
    expect(parseAgentSubject('arc.v2.a.b.c.resource-sync-agent.heartbeat')).toBeUndefined();
    expect(parseAgentSubject('arc.v1.a.b.resource-sync-agent.heartbeat')).toBeUndefined();
  });
});

describe('config', () => {
  it('defaults every Arc timing to the real value', () => {
    expect(compileTimings({})).toEqual(DEFAULT_TIMINGS);
    expect(DEFAULT_TIMINGS.offlineThresholdMs).toBe(15 * 60_000);
    expect(DEFAULT_TIMINGS.certValidityMs).toBe(90 * 86_400_000);
    expect(DEFAULT_TIMINGS.certRenewAfterMs).toBe(46 * 86_400_000);
  });
  it('names the setting at fault', () => {
    const bad = (env: Record<string, string>) => {
      try {
        compileCommonConfig(env);
      } catch (err) {
        return err instanceof ConfigError ? err.setting : 'other';
      }
      return undefined;
    };
    expect(bad({ ARCFLEET_TIME_SCALE: 'fast' })).toBe('ARCFLEET_TIME_SCALE');
    expect(bad({ ARCFLEET_OFFLINE_THRESHOLD: 'soon' })).toBe('ARCFLEET_OFFLINE_THRESHOLD');
    expect(bad({ ARCFLEET_HEARTBEAT_INTERVAL: '20m' })).toBe('ARCFLEET_HEARTBEAT_INTERVAL');
    expect(bad({ ARCFLEET_NATS_URL: 'http://x' })).toBe('ARCFLEET_NATS_URL');
    expect(bad({ ARCFLEET_LOG_LEVEL: 'loud' })).toBe('ARCFLEET_LOG_LEVEL');
  });
  it('parses durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('90d')).toBe(90 * 86_400_000);
    expect(() => parseDuration('1 week')).toThrow(ConfigError);
  });
});

describe('clocks', () => {
  it('SimClock runs timeScale times faster than real time from the shared epoch', () => {
    const epoch = Date.now() - 1000;
    const c = new SimClock(60, epoch);
    const elapsed = c.now() - epoch;
    expect(elapsed).toBeGreaterThanOrEqual(60_000);
    expect(elapsed).toBeLessThan(70_000);
  });
  it('FakeClock fires timers in order as time advances', () => {
    const c = new FakeClock(0);
    const fired: string[] = [];
    c.setTimeout(() => fired.push('b'), 200);
    c.setTimeout(() => fired.push('a'), 100);
    const h = c.setInterval(() => fired.push('i'), 150);
    c.advance(310);
    c.clear(h);
    c.advance(1000);
    expect(fired).toEqual(['a', 'i', 'b', 'i']);
  });
});

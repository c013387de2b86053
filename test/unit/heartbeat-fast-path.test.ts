import { describe, expect, it } from 'vitest';
import {
  decodeAgentMessage,
  encodeMessage,
  heartbeatSchema,
  isWellFormedHeartbeat,
  ISO_TIME_PATTERN,
  PROTOCOL_VERSION,
} from '../../contract/index.js';

const good = {
  v: PROTOCOL_VERSION,
  type: 'heartbeat',
  agent: 'resource-sync-agent',
  agentVersion: '1.21.10',
  sentAt: '2026-11-30T10:00:00.000Z',
};

const candidates: Record<string, unknown> = {
  good,
  offset: { ...good, sentAt: '2026-11-30T10:00:00+02:00' },
  'no fraction': { ...good, sentAt: '2026-11-30T10:00:00Z' },
  'leap day': { ...good, sentAt: '2028-02-29T00:00:00Z' },
  'not a leap day': { ...good, sentAt: '2026-02-29T00:00:00Z' },
  'month 13': { ...good, sentAt: '2026-13-01T00:00:00Z' },
  'no offset': { ...good, sentAt: '2026-11-30T10:00:00' },
  'date only': { ...good, sentAt: '2026-11-30' },
  'extra key': { ...good, extra: 1 },
  'missing key': { v: good.v, type: good.type, agent: good.agent, agentVersion: good.agentVersion },
  'old version': { ...good, v: 1 },
  'unknown agent': { ...good, agent: 'evil-agent' },
  'empty version': { ...good, agentVersion: '' },
  'long version': { ...good, agentVersion: 'x'.repeat(65) },
  'version not a string': { ...good, agentVersion: 1 },
  'another type': { ...good, type: 'metadata' },
  array: [good],
  null: null,
};

describe("the heartbeat's fast path", () => {
  it("checks sentAt with zod's own pattern for the schema's ISO time", () => {
    const sentAt = heartbeatSchema.shape.sentAt as unknown as { _zod: { def: { pattern: RegExp } } };
    expect(ISO_TIME_PATTERN.source).toBe(sentAt._zod.def.pattern.source);
  });

  it('accepts only what the schema accepts, and every well-formed heartbeat', () => {
    for (const [name, value] of Object.entries(candidates)) {
      const schema = heartbeatSchema.safeParse(value).success;
      const fast = isWellFormedHeartbeat(value);
      if (fast) expect(schema, `${name}: fast path accepts what the schema refuses`).toBe(true);
    }
    for (const name of ['good', 'offset', 'no fraction', 'leap day'])
      expect(isWellFormedHeartbeat(candidates[name]), name).toBe(true);
  });

  it('refuses through the schema what the fast path does not take, with the same codes', () => {
    const decode = (value: unknown) => () =>
      decodeAgentMessage('heartbeat', encodeMessage(value as object), 's', 1024);
    expect(decode(good)()).toEqual(good);
    expect(decode(candidates['extra key'])).toThrow(/schema violation/);
    expect(decode(candidates['month 13'])).toThrow(/schema violation at sentAt/);
    expect(decode(candidates['old version'])).toThrow(/protocol version 1 is not supported/);
  });
});

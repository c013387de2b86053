/**
 * flux-logs-agent's cursor rule (services/flux-logs-agent/cursor-shipping.ts) with requests made to
 * fail at will, on a real Flux log in a temporary directory: the cursor moves only to what the hub
 * acknowledged, so an unanswered request, a refusal, a partial acknowledgement or a restart resends and
 * never skips. (The end-to-end cut in test/integration/flux-logs.test.ts cannot show this: a request
 * sent while cut waits in nats.js's buffer and arrives after the reconnect.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FluxLogReader, FluxLogWriter } from '../../agent-runtime/flux-log.js';
import type { RequestResult } from '../../agent-runtime/agent-link.js';
import { ERROR_CODES, PROTOCOL_VERSION, type FluxLogsReport } from '../../contract/index.js';
import { FakeClock } from '../../platform/clock.js';
import { createLogger } from '../../platform/log.js';
import { CursorShipping } from '../../services/flux-logs-agent/cursor-shipping.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arcfleet-flux-cursor-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeLines(n: number): Promise<void> {
  await new FluxLogWriter(dir).write(
    Array.from({ length: n }, (_, i) => ({
      ts: '2026-12-01T00:00:00.000Z',
      level: 'info' as const,
      controller: 'source-controller',
      configuration: 'apps',
      kind: 'GitRepository',
      namespace: 'apps',
      name: 'apps',
      msg: `line ${i}`,
    })),
  );
}

type Answer = 'timeout' | 'refused' | 'halting' | { ack: number } | 'no-link';
const ack = (seq: number): RequestResult => ({ ok: true, reply: { v: PROTOCOL_VERSION, type: 'ack', seq } });
const refusal = (code: string): RequestResult => ({
  ok: true,
  reply: { v: PROTOCOL_VERSION, type: 'error', code, message: code },
});

/** A hub that answers the requests from a script, and holds what it acknowledged (dropping repeats). */
function scriptedHub(answers: Answer[]) {
  const held = new Map<number, number>();
  const sent: number[][] = [];
  const halts: string[] = [];
  let memo = 0;
  const send = (report: FluxLogsReport): Promise<RequestResult> | undefined => {
    const answer = answers.shift() ?? { ack: Number.MAX_SAFE_INTEGER };
    if (answer === 'no-link') return undefined;
    sent.push(report.entries.map((e) => e.seq));
    if (answer === 'timeout')
      return Promise.resolve({ ok: false, reason: 'timeout', error: new Error('timeout') });
    if (answer === 'refused') return Promise.resolve(refusal(ERROR_CODES.ServiceUnavailable));
    if (answer === 'halting') return Promise.resolve(refusal(ERROR_CODES.IdentityRevoked));
    const upTo = Math.min(answer.ack, report.entries.at(-1)?.seq ?? 0);
    for (const e of report.entries) if (e.seq <= upTo) held.set(e.seq, (held.get(e.seq) ?? 0) + 1);
    return Promise.resolve(ack(answer.ack));
  };
  const shipping = () =>
    new CursorShipping({
      reader: new FluxLogReader(dir),
      cursor: {
        load: () => Promise.resolve(memo),
        save: (seq) => {
          memo = seq;
          return Promise.resolve();
        },
      },
      send,
      halt: (code) => halts.push(code),
      clock: new FakeClock(),
      logger: createLogger('test', 'silent'),
      batch: 4,
    });
  return { held, sent, halts, shipping, cursor: () => memo };
}

it('does not move the cursor on an unanswered request, a refusal or no link: the next try resends', async () => {
  await writeLines(6);
  const hub = scriptedHub(['timeout', 'refused', 'no-link', 'halting']);
  const shipper = hub.shipping();
  for (let i = 0; i < 4; i++) await shipper.shipAll();
  expect(hub.cursor()).toBe(0);
  expect(hub.held.size).toBe(0);
  // Every attempt (the no-link one sends nothing) offered the same first batch again.
  expect(hub.sent).toEqual([
    [1, 2, 3, 4],
    [1, 2, 3, 4],
    [1, 2, 3, 4],
  ]);
  expect(hub.halts).toEqual([ERROR_CODES.IdentityRevoked]);
  expect(shipper.pending).toBe(6);

  await shipper.shipAll();
  expect(hub.cursor()).toBe(6);
  expect([...hub.held.keys()]).toEqual([1, 2, 3, 4, 5, 6]);
  expect(shipper.pending).toBe(0);
});

it('moves only as far as acknowledged: a partial ack resends the rest, an ack beyond the batch stops at its end', async () => {
  await writeLines(10);
  const hub = scriptedHub([{ ack: 2 }, 'timeout']);
  await hub.shipping().shipAll();
  expect(hub.cursor()).toBe(2);
  // A restart of the agent: a new shipper reads the cursor from the memo.
  await hub.shipping().shipAll();
  expect(hub.sent).toEqual([
    [1, 2, 3, 4],
    [3, 4, 5, 6],
    [3, 4, 5, 6],
    [7, 8, 9, 10],
  ]);
  expect(hub.cursor()).toBe(10);
  // Each entry reached the hub; the ack past each batch's end moved the cursor only to that end.
  expect([...hub.held.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

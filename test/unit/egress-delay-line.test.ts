/**
 * The gateway's slowed direction (services/egress-gateway/delay-line.ts) writes chunks in the order they
 * came, whatever their times: a chunk due a few µs after a big one, set later in the same long tick, must
 * not overtake it (one timer per chunk let it, because Node times a timer from the loop's cached clock).
 */
import { describe, expect, it } from 'vitest';
import { DelayLine } from '../../services/egress-gateway/delay-line.js';
import { waitFor } from '../helpers/wait.js';

const busy = (ms: number): void => {
  const end = Date.now() + ms;
  while (Date.now() < end);
};

describe('DelayLine', () => {
  it('keeps order when a later chunk is due almost with an earlier one, set in one long tick', async () => {
    const written: string[] = [];
    const line = new DelayLine((c) => written.push(c.toString()));
    const t0 = Date.now();
    line.push(Buffer.from('big'), t0 + 30);
    // The loop's clock stands still while this tick runs: a timer set now would be 10 ms early.
    busy(10);
    line.push(Buffer.from('ping'), t0 + 30.01);
    await waitFor(() => written.length === 2, { timeoutMs: 2000, message: 'both chunks written' });
    expect(written).toEqual(['big', 'ping']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(29);
  });

  it('writes at once when nothing waits and the time has come, and never before its time', async () => {
    const written: Array<[string, number]> = [];
    const line = new DelayLine((c) => written.push([c.toString(), Date.now()]));
    const t0 = Date.now();
    line.push(Buffer.from('now'), t0);
    expect(written.map(([c]) => c)).toEqual(['now']);
    line.push(Buffer.from('a'), t0 + 40);
    line.push(Buffer.from('b'), t0 + 20);
    // `b` is due earlier but came later: it waits for `a`.
    line.push(Buffer.from('c'), t0);
    expect(line.pending).toBe(3);
    await waitFor(() => written.length === 4, { timeoutMs: 2000, message: 'all written' });
    expect(written.map(([c]) => c)).toEqual(['now', 'a', 'b', 'c']);
    expect(written[1]![1]).toBeGreaterThanOrEqual(t0 + 40);
  });

  it('drops what waits on clear', async () => {
    const written: string[] = [];
    const line = new DelayLine((c) => written.push(c.toString()));
    line.push(Buffer.from('x'), Date.now() + 20);
    line.clear();
    await new Promise((r) => setTimeout(r, 60));
    expect(written).toEqual([]);
    expect(line.pending).toBe(0);
  });
});

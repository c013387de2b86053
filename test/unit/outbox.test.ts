import { describe, expect, it } from 'vitest';
import { LatestOutbox } from '../../services/resource-sync-agent/outbox.js';

describe('LatestOutbox', () => {
  it('keeps only the latest pending report', () => {
    const box = new LatestOutbox<string>();
    expect(box.put(1, 'a')).toBe(true);
    expect(box.put(2, 'b')).toBe(true);
    expect(box.put(3, 'c')).toBe(true);
    expect(box.pending).toEqual({ generation: 3, item: 'c' });
    // An older generation never replaces a newer one.
    expect(box.put(2, 'old')).toBe(false);
    expect(box.pending?.item).toBe('c');
  });

  it('keeps the report after a failed send and delivers it later', () => {
    const box = new LatestOutbox<string>();
    box.put(1, 'a');
    const attempt = box.pending;
    // send failed: nothing acked, still pending
    expect(box.pending).toBe(attempt);
    // a change while disconnected replaces it
    box.put(2, 'b');
    expect(box.pending?.generation).toBe(2);
    box.ack(2);
    expect(box.pending).toBeUndefined();
    expect(box.ackedGeneration).toBe(2);
  });

  it('an ack of an older generation keeps the newer pending report', () => {
    const box = new LatestOutbox<string>();
    box.put(1, 'a');
    const inFlight = box.pending;
    box.put(2, 'b'); // arrives while generation 1 is in flight
    box.ack(inFlight?.generation ?? -1);
    expect(box.pending).toEqual({ generation: 2, item: 'b' });
  });

  it('ignores generations already acknowledged until acks are reset', () => {
    const box = new LatestOutbox<string>();
    box.put(5, 'x');
    box.ack(5);
    expect(box.put(5, 'x')).toBe(false);
    expect(box.put(4, 'w')).toBe(false);
    box.resetAcks();
    expect(box.put(5, 'x')).toBe(true);
    expect(box.pending?.generation).toBe(5);
  });
});

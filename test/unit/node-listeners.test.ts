/**
 * The hub hears the agents through a listener on each broker node: it is deaf only while every
 * listener is down, and says so once when that starts and once when it ends.
 */
import { describe, expect, it } from 'vitest';
import { Hearing } from '../../services/hub/agent-bus/node-listeners.js';

describe('hearing through listeners on every broker node', () => {
  it('is deaf only while every listener is down', () => {
    const told: boolean[] = [];
    const h = new Hearing(3, (up) => told.push(up));
    h.status(0, { type: 'disconnect' });
    h.status(1, { type: 'disconnect' });
    expect(told).toEqual([]);
    h.status(2, { type: 'disconnect' });
    expect(told).toEqual([false]);
    h.status(2, { type: 'disconnect' }); // again: no news
    h.status(1, { type: 'reconnect' });
    expect(told).toEqual([false, true]);
    h.status(0, { type: 'reconnect' });
    h.status(0, { type: 'pingTimer' });
    expect(told).toEqual([false, true]);
  });

  it('with one node, follows that one connection', () => {
    const told: boolean[] = [];
    const h = new Hearing(1, (up) => told.push(up));
    h.status(0, { type: 'disconnect' });
    h.status(0, { type: 'reconnect' });
    expect(told).toEqual([false, true]);
  });
});

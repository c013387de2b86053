// Waiting for a fleet to connect: the hub's summary counts while they say "not yet", one LIST to
// confirm the names; a wait for a subset of the hub's clusters LISTs every time.
import { describe, expect, it } from 'vitest';
import type { HubClient } from '../../fleet/clients/hub-client.js';
import { waitAllConnected } from '../../fleet/progress.js';

function fakeHub(names: readonly string[], connectedAfterPolls: number) {
  let polls = 0;
  const calls = { summary: 0, list: 0 };
  const status = (): string => (polls > connectedAfterPolls ? 'Connected' : 'Connecting');
  const client = {
    summary: () => {
      calls.summary++;
      polls++;
      return Promise.resolve({ total: names.length, connectivityStatus: { [status()]: names.length } });
    },
    listClusters: () => {
      calls.list++;
      return Promise.resolve({
        value: names.map((name) => ({ name, properties: { connectivityStatus: status() } })),
      });
    },
  } as unknown as HubClient;
  return { client, calls };
}

describe('waitAllConnected', () => {
  it('follows the summary and LISTs once, to confirm the names', async () => {
    const names = ['a', 'b', 'c'];
    const { client, calls } = fakeHub(names, 3);
    const seen: number[] = [];
    const done = await waitAllConnected({
      client,
      subscriptionId: 'sub',
      names: new Set(names),
      timeoutMs: 5000,
      pollMs: 1,
      onProgress: (p) => seen.push(p.connected),
    });
    expect(done.connected).toBe(3);
    expect(calls.summary).toBe(4);
    expect(calls.list).toBe(1);
    expect(seen).toEqual([0, 0, 0, 3]);
  });

  it('LISTs every poll when it waits for some of the hub clusters only', async () => {
    const { client, calls } = fakeHub(['a', 'b', 'c'], 2);
    await waitAllConnected({
      client,
      subscriptionId: 'sub',
      names: new Set(['a']),
      timeoutMs: 5000,
      pollMs: 1,
    });
    expect(calls.list).toBe(calls.summary);
  });

  it('names clusters not Connected when it times out', async () => {
    const { client } = fakeHub(['a', 'b'], 1_000_000);
    await expect(
      waitAllConnected({
        client,
        subscriptionId: 'sub',
        names: new Set(['a', 'b']),
        timeoutMs: 20,
        pollMs: 5,
      }),
    ).rejects.toThrow(/e\.g\. a \(Connecting/);
  });
});

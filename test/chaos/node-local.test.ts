/**
 * Messages stay on the broker node they arrive at (issue 14; docs/scale-out.md): the hub listens on
 * every node, so an agent's request is answered by a hub subscription on the agent's own node and
 * its heartbeat is taken there, instead of crossing a route to the node the hub happens to use. Three
 * nodes and two hub replicas, the agents' connections spread over the nodes by the gateway: on every
 * node, the hub's listeners there take what the agents there publish. (Counting route traffic instead
 * says little: JetStream's own replication and elections outweigh a small fleet's messages.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestFleet, fastLinks } from '../helpers/fleet.js';
import { delay } from '../helpers/wait.js';

let fleet: TestFleet;

beforeAll(async () => {
  fleet = await TestFleet.start({ clusters: 6, brokers: 3, hubs: 2, gateway: true, env: fastLinks() });
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
});

/** Per broker node: messages the agents published there, and messages delivered to hub listeners there. */
async function perNode(): Promise<Array<{ agents: number; hub: number }>> {
  return Promise.all(
    fleet.handle.natsMonitorUrls.map(async (url) => {
      const res = await fetch(`${url}/connz?limit=100000`, { signal: AbortSignal.timeout(5000) });
      const { connections } = (await res.json()) as {
        connections: Array<{ name?: string; in_msgs: number; out_msgs: number }>;
      };
      let agents = 0;
      let hub = 0;
      for (const c of connections) {
        const name = c.name ?? '';
        if (name.startsWith('hub-listener-')) hub += c.out_msgs;
        else if (name.includes('/')) agents += c.in_msgs; // `<agent>/<cluster>`
      }
      return { agents, hub };
    }),
  );
}

it('keeps the agents’ messages on the node they arrive at', async () => {
  const before = await perNode();
  // Steady traffic: heartbeats, config pulls, metrics reports of six clusters at fast timings.
  await delay(8000);
  const after = await perNode();
  const nodes = after.map((a, i) => ({ agents: a.agents - before[i]!.agents, hub: a.hub - before[i]!.hub }));
  const busy = nodes.filter((n) => n.agents >= 5);
  // The gateway spreads the agents' connections over the nodes.
  expect(busy.length, JSON.stringify(nodes)).toBeGreaterThanOrEqual(2);
  // Each node's hub listeners took what that node's agents published (both replicas take heartbeats).
  for (const n of busy) expect(n.hub, JSON.stringify(nodes)).toBeGreaterThanOrEqual(0.8 * n.agents);
});

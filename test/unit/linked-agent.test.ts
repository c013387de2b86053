// The shared identity life cycle, with a fake link at the openLink seam: no network.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { LinkedAgent, type LinkedAgentStatus } from '../../agent-runtime/linked-agent.js';
import { FakeClock } from '../../platform/clock.js';
import { generateAgentKeyPair } from '../../platform/identity.js';
import { waitFor } from '../../platform/wait.js';
import {
  FakeAuthority,
  captureLogger,
  clusterState,
  fakeContext,
  onboardingSecret,
  snapshotOf,
} from './agent-fakes.js';

const IDENTITY = { state: false, onboarding: false, identity: true, kube: false } as const;
const fast = { intervalMs: 2, timeoutMs: 2000 };

describe('LinkedAgent', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function setup() {
    dir = await mkdtemp(join(tmpdir(), 'linked-agent-'));
    const clock = new FakeClock();
    const authority = new FakeAuthority();
    const keys = generateAgentKeyPair();
    const onboarding = onboardingSecret(keys);
    const { logger } = captureLogger();
    const fake = fakeContext('config-agent', new ClusterStore(dir), logger);
    const seen: string[] = [];
    const stops: LinkedAgentStatus[] = [];
    const agent = (identity = authority.issue(keys, clock.now())) =>
      new LinkedAgent(fake.ctx, snapshotOf(clusterState(0), onboarding, identity), {
        onLinkUp: () => seen.push('up'),
        onLinkDown: (reason) => seen.push(`down:${reason}`),
        onStop: (next) => stops.push(next),
      });
    const issue = () => authority.issue(keys, clock.now() + 1);
    return { ...fake, agent, issue, onboarding, seen, stops };
  }

  it('applies a certificate renewed while the link was opening', async () => {
    const { agent, issue, links, onboarding, seen } = await setup();
    const linked = agent();
    const renewed = issue();
    linked.update(snapshotOf(clusterState(0), onboarding, renewed), IDENTITY);
    await waitFor(() => seen, { ...fast, until: (s) => s.includes('up') });
    expect(links).toHaveLength(1);
    expect(links[0]?.credentials.natsUserJwt).toBe(renewed.natsUserJwt);
    await linked.close();
    expect(seen).toEqual(['up', 'down:instance closing']);
  });

  it('after a halt, only a new certificate brings the link back', async () => {
    const { agent, issue, links, onboarding, seen, stops } = await setup();
    const first = issue();
    const linked = agent(first);
    await waitFor(() => linked.link, fast);
    linked.halt('IdentityRevoked');
    expect(linked.currentStatus).toBe('halted');
    expect(links[0]?.closed).toBe(true);
    expect(stops).toEqual(['halted']);
    linked.update(snapshotOf(clusterState(0), onboarding, first), IDENTITY);
    expect(links).toHaveLength(1);
    linked.update(snapshotOf(clusterState(0), onboarding, issue()), IDENTITY);
    await waitFor(() => linked.link, fast);
    expect(links).toHaveLength(2);
    expect(seen).toEqual(['up', 'down:IdentityRevoked', 'up']);
    await linked.close();
  });
});

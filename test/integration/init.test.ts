/**
 * `arcfleet init` (the compose fleet's one-shot service) against real services: it writes and onboards
 * the generated clusters, the running agents connect them, and running it again changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { initFleet } from '../../cli/commands/init.js';
import { HubClient } from '../../fleet/clients/hub-client.js';
import { DEFAULT_SUBSCRIPTION_ID } from '../../fleet/generator.js';
import { TestFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/wait.js';

let fleet: TestFleet;
const lines: string[] = [];

beforeAll(async () => {
  fleet = await TestFleet.start({ clusters: 0, connect: false });
});

afterAll(async () => {
  await fleet?.stop();
});

describe('arcfleet init', () => {
  const init = () =>
    initFleet(
      {
        clusters: 4,
        seed: 7,
        dataDir: fleet.dataDir,
        hubUrl: fleet.hubUrl,
        timeoutMs: 10_000,
        env: fleet.env,
        token: (user) => fleet.handle.token(user),
      },
      (line) => lines.push(line),
    );

  it('writes the generated clusters and onboards each; the agents get them Connected', async () => {
    expect(await init()).toEqual({ written: 4, onboarded: 4, kept: 0 });
    expect(await readdir(join(fleet.dataDir, 'clusters'))).toHaveLength(4);
    const hub = new HubClient(fleet.hubUrl, { token: (user) => fleet.handle.token(user) });
    const list = await waitFor(async () => (await hub.listClusters(DEFAULT_SUBSCRIPTION_ID)).value, {
      timeoutMs: 30_000,
      message: '4 clusters Connected',
      until: (l) => l.length === 4 && l.every((c) => c.properties.connectivityStatus === 'Connected'),
    });
    expect(list).toHaveLength(4);
  });

  it('run again, keeps the store and onboards nobody twice', async () => {
    expect(await init()).toEqual({ written: 0, onboarded: 0, kept: 4 });
    expect(lines.at(-1)).toMatch(/^0 clusters onboarded at https:\/\/127\.0\.0\.1:\d+ \(4 already were\)$/);
  });
});

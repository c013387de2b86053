/**
 * Acceptance 1 and 2 of the compose fleet, for real (no mocks): a Docker engine (started when none
 * runs), the base images built offline from Debian packages, the arcfleet image built on them,
 * `compose up -d`, FLEET_SIZE clusters Connected at the hub, the compose Prometheus scraping every
 * target with the same Connected count, an agent container that reaches NATS only through the
 * gateway, one cluster's egress cut at the gateway (Offline) and restored (Connected), and a broker
 * node and a hub replica killed without any cluster leaving Connected. The stack runs the sharded
 * fleet's topology: three NATS nodes and `--scale hub=2` behind hub-front. `down -v` runs whatever
 * happens. Every step prints its duration, and a table of them comes at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { HubClient, type TokenSource } from '../../fleet/clients/hub-client.js';
import { trustCa } from '../../fleet/trust.js';
import { AGENT_SERVICES } from '../../fleet/index.js';
import { DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID } from '../../fleet/generator.js';
import { ON_DEMAND_LINK_AGENTS, agentHasLink, type ConnectedCluster } from '../../contract/index.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { REPO_ROOT, Steps, buildEnv, composeCommand, ensureEngine, ensureTools, run } from './docker.js';
import { killOneNodeAndOneReplica } from './failover.js';

const FLEET_SIZE = Number(process.env.FLEET_SIZE ?? 20);
const PROJECT = 'arcfleet-compose-test';
/** The offline images, as docs/compose.md tells an air-gapped site to select them. */
const OFFLINE_ENV_FILE = `${REPO_ROOT}deploy/offline/offline.env`;
/** Every agent is its own compose service, as in the embedded fleet. */
const AGENTS = AGENT_SERVICES;
/** The agents a generated cluster runs: cluster connect on, Azure RBAC (guard) off. */
const DEPLOYED = AGENTS.filter((a) => a !== 'guard');
/** `--scale hub=2`: every replica is a target of its own. */
const HUB_REPLICAS = 2;
const SCRAPED = [...Array<string>(HUB_REPLICAS).fill('hub'), 'egress-gateway', 'kube-apiserver', ...AGENTS];
/** ARCFLEET_OFFLINE_THRESHOLD below, in real ms at the default 60×. */
const OFFLINE_THRESHOLD_MS = 3000;

const steps = new Steps();
let compose: ReturnType<typeof composeCommand>;
let env: NodeJS.ProcessEnv;
let ports: { hub: number; hubPage: number; egressApi: number; prometheus: number };
let hub: HubClient;
let token: TokenSource;
let started = false;
let failed = false;

const dc = (args: readonly string[], timeoutMs = 600_000) =>
  run(
    compose.command,
    [
      ...compose.prefix,
      '--env-file',
      OFFLINE_ENV_FILE,
      '-p',
      PROJECT,
      '-f',
      `${REPO_ROOT}docker-compose.yml`,
      ...args,
    ],
    {
      env,
      timeoutMs,
    },
  );

/** Runs a step; a failure is remembered so that the containers' logs are shown before `down -v`. */
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await steps.step(name, fn);
  } catch (err) {
    failed = true;
    throw err;
  }
}

/** The running containers of a service (several for a scaled one). */
async function containers(service: string): Promise<string[]> {
  return (await dc(['ps', '-q', service])).stdout.split('\n').filter(Boolean);
}

async function clusters(): Promise<ConnectedCluster[]> {
  return (await hub.listClusters(DEFAULT_SUBSCRIPTION_ID)).value;
}

const countBy = (list: readonly ConnectedCluster[], status: string): number =>
  list.filter((c) => c.properties.connectivityStatus === status).length;

async function prometheusGet<T>(path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${ports.prometheus}${path}`, {
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`prometheus ${path}: HTTP ${res.status}`);
  return ((await res.json()) as { data: T }).data;
}

describe(`docker compose fleet of ${FLEET_SIZE} clusters`, () => {
  beforeAll(async () => {
    await step('tools (docker.io, docker-compose, debootstrap)', async () => {
      const installed = await ensureTools();
      if (installed.length > 0) console.log(`compose: installed ${installed.join(' ')}`);
    });
    await step('docker engine', async () => {
      console.log(`compose: docker engine ${await ensureEngine()}`);
    });
    compose = composeCommand();
    console.log(`compose: using ${compose.version} (${[compose.command, ...compose.prefix].join(' ')})`);
    ports = {
      hub: await freePort(),
      hubPage: await freePort(),
      egressApi: await freePort(),
      prometheus: await freePort(),
    };
    // The shell's image settings would win over the env file: the test runs what offline.env says.
    const { NODE_IMAGE: _n, NATS_IMAGE: _a, PROMETHEUS_IMAGE: _p, ...inherited } = process.env;
    env = {
      ...inherited,
      ...buildEnv(),
      ARCFLEET_IMAGE: 'arcfleet:compose-test',
      FLEET_SIZE: String(FLEET_SIZE),
      HUB_PORT: String(ports.hub),
      HUB_PAGE_PORT: String(ports.hubPage),
      EGRESS_API_PORT: String(ports.egressApi),
      PROMETHEUS_PORT: String(ports.prometheus),
      // 3 simulated minutes = 3 real seconds at the default 60×: a cut shows as Offline quickly.
      ARCFLEET_OFFLINE_THRESHOLD: '3m',
      ARCFLEET_HEARTBEAT_INTERVAL: '30s',
      // The test's own settings only: a developer's .env must not change what is tested.
      COMPOSE_PROFILES: '',
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
    };
    await step('leftovers of an earlier run removed (down -v)', () => dc(['down', '-v', '--remove-orphans']));
    await step('offline base images (deploy/offline/build-images.sh)', async () => {
      const out = await run('bash', ['deploy/offline/build-images.sh'], { env, timeoutMs: 900_000 });
      console.log(out.stdout.trimEnd());
    });
    await step('arcfleet image (compose build, FROM the offline node image)', () =>
      dc(['build', 'hub'], 900_000),
    );
    started = true;
    await step(`compose up -d --scale hub=${HUB_REPLICAS} (every healthcheck and depends_on in order)`, () =>
      dc(['up', '-d', '--scale', `hub=${HUB_REPLICAS}`], 300_000),
    );
    expect(await containers('hub')).toHaveLength(HUB_REPLICAS);
    // What ran is what offline.env selects, not an image from a registry.
    const natsId = (await containers('nats-0'))[0] ?? '';
    const natsImage = (
      await run('docker', ['inspect', '-f', '{{.Config.Image}}', natsId], { env })
    ).stdout.trim();
    expect(natsImage).toBe('arcfleet-offline/nats:2.9');
    // The hub speaks HTTPS with the fleet CA and wants the fleet issuer's tokens: both come out of the
    // trust volume as docs/compose.md tells a user to take them.
    const trust = (...args: string[]) => dc(['run', '--rm', '--no-deps', '-T', 'hub-trust', ...args]);
    const [ca, minted] = await step('the fleet CA and an owner token (docker-compose run hub-trust)', () =>
      Promise.all([
        trust('cat', '/trust/tls/ca.pem'),
        trust('node', 'dist/cli/main.js', 'token', '--data-dir', '/trust', '--lifetime', '2h'),
      ]),
    );
    trustCa(ca.stdout);
    const bearer = minted.stdout.trim();
    token = async () => bearer;
    hub = new HubClient(`https://127.0.0.1:${ports.hub}`, { token });
    const anonymous = await fetch(
      `https://127.0.0.1:${ports.hub}/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/providers/Microsoft.Kubernetes/connectedClusters?api-version=2024-01-01`,
    );
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('AuthenticationFailed');
    const page = await fetch(`http://127.0.0.1:${ports.hubPage}/`);
    expect(page.status).toBe(200);
  }, 1_800_000);

  afterAll(async () => {
    if (started) {
      if (failed) {
        const logs = await dc(['logs', '--no-color', '--tail', '30']).catch((e: unknown) => ({
          stdout: String(e),
        }));
        console.log(`compose: logs of the failed run (last 30 lines per service):\n${logs.stdout}`);
      }
      await steps.step('compose down -v', () => dc(['down', '-v', '--remove-orphans'], 180_000));
    }
    console.log(`compose: steps\n${steps.table()}`);
  }, 300_000);

  it(`the hub reports ${FLEET_SIZE} clusters Connected`, async () => {
    const list = await step(`${FLEET_SIZE} clusters Connected at the hub`, () =>
      waitFor(clusters, {
        timeoutMs: 180_000,
        intervalMs: 500,
        message: `${FLEET_SIZE} Connected clusters at the hub`,
        until: (l) => l.length === FLEET_SIZE && countBy(l, 'Connected') === FLEET_SIZE,
      }),
    );
    expect(countBy(list, 'Connected')).toBe(FLEET_SIZE);
  });

  it('the compose Prometheus has every target up and the same Connected count', async () => {
    const targets = await step('prometheus: every target up', () =>
      waitFor(
        () =>
          prometheusGet<{ activeTargets: { labels: Record<string, string>; health: string }[] }>(
            '/api/v1/targets',
          ),
        {
          timeoutMs: 90_000,
          intervalMs: 1000,
          message: 'every Prometheus target up',
          until: (d) =>
            d.activeTargets.length === SCRAPED.length && d.activeTargets.every((t) => t.health === 'up'),
        },
      ),
    );
    expect(targets.activeTargets.map((t) => t.labels.service).sort()).toEqual([...SCRAPED].sort());
    // The recorded fleet count: both hub replicas export the whole fleet, and the rule must count it once.
    const series = 'arcfleet:clusters_by_status:sum{connectivity_status="Connected"}';
    const query = encodeURIComponent(series);
    const result = await step(`prometheus: Connected = ${FLEET_SIZE}`, () =>
      waitFor(
        () => prometheusGet<{ result: { value: [number, string] }[] }>(`/api/v1/query?query=${query}`),
        {
          timeoutMs: 90_000,
          intervalMs: 1000,
          message: `${series} = ${FLEET_SIZE} in Prometheus`,
          until: (d) => Number(d.result[0]?.value[1]) === FLEET_SIZE,
        },
      ),
    );
    expect(Number(result.result[0]?.value[1])).toBe(FLEET_SIZE);
  });

  it('from inside an agent container, NATS and the hub are unreachable except through the gateway', async () => {
    const ipOf = async (service: string): Promise<string> => {
      const id = (await containers(service))[0] ?? '';
      const nets = JSON.parse(
        (await run('docker', ['inspect', '-f', '{{json .NetworkSettings.Networks}}', id], { env })).stdout,
      ) as Record<string, { IPAddress: string }>;
      const ip = Object.entries(nets).find(([name]) => name.endsWith('_cloud'))?.[1].IPAddress;
      if (!ip) throw new Error(`${service} has no address on the cloud network: ${JSON.stringify(nets)}`);
      return ip;
    };
    const [natsIp, hubIp] = await Promise.all([ipOf('nats-0'), ipOf('hub')]);
    const targets = [
      { name: 'gateway', host: 'egress-gateway', port: 4223 },
      { name: 'nats by name', host: 'nats-0', port: 4222 },
      { name: 'hub by name', host: 'hub', port: 8080 },
      { name: 'nats by address', host: natsIp, port: 4222 },
      { name: 'hub by address', host: hubIp, port: 8080 },
    ];
    // From the agent's own network namespace, with its own node: a name lookup (the onprem DNS knows
    // only onprem services; for others it answers EAI_AGAIN after its 10 s upstream timeout, since the
    // internal network has no upstream), then a TCP connect with a 3 s deadline.
    const probe = `
      const net = require('node:net');
      const dns = require('node:dns/promises');
      const connect = (host, port) => new Promise((resolve) => {
        const s = net.connect({ host, port, timeout: 3000 });
        const done = (error) => { s.destroy(); resolve(error); };
        s.once('connect', () => done(undefined));
        s.once('timeout', () => done('ETIMEDOUT'));
        s.once('error', (e) => done(e.code || e.message));
      });
      const one = async (t) => {
        let address = t.host;
        if (net.isIP(t.host) === 0) {
          try { address = (await dns.lookup(t.host, { family: 4 })).address; }
          catch (e) { return { name: t.name, ok: false, error: e.code || e.message }; }
        }
        const error = await connect(address, t.port);
        return error === undefined ? { name: t.name, ok: true } : { name: t.name, ok: false, error };
      };
      Promise.all(JSON.parse(process.argv[1]).map(one)).then((r) => console.log(JSON.stringify(r)));`;
    const results = await step('isolation: TCP from an agent container', async () => {
      const out = await dc([
        'exec',
        '-T',
        'resource-sync-agent',
        'node',
        '-e',
        probe,
        JSON.stringify(targets),
      ]);
      return JSON.parse(out.stdout.trim()) as { name: string; ok: boolean; error?: string }[];
    });
    console.log(
      `compose: from resource-sync-agent: ${results.map((r) => `${r.name} ${r.ok ? 'reachable' : `unreachable (${r.error})`}`).join(', ')}`,
    );
    // By address the packets die at the onprem bridge (no route to cloud): a timeout or an
    // unreachable error, never a connection (nor a refusal, which would mean the host answered).
    const unresolvable = expect.stringMatching(/^(EAI_AGAIN|ENOTFOUND)$/);
    const unroutable = expect.stringMatching(/^(ETIMEDOUT|ENETUNREACH|EHOSTUNREACH)$/);
    expect(results).toEqual([
      { name: 'gateway', ok: true },
      { name: 'nats by name', ok: false, error: unresolvable },
      { name: 'hub by name', ok: false, error: unresolvable },
      { name: 'nats by address', ok: false, error: unroutable },
      { name: 'hub by address', ok: false, error: unroutable },
    ]);
  });

  it('runs NATS over TLS: every node requires it for clients and routes, every client connection is encrypted', async () => {
    const monitor = async (node: string, path: string): Promise<unknown> =>
      JSON.parse(
        (await dc(['exec', '-T', node, 'wget', '-q', '-O', '-', `http://127.0.0.1:8222${path}`])).stdout,
      );
    const nodes = await step('nats: TLS on every node (varz, connz)', () =>
      Promise.all(
        ['nats-0', 'nats-1', 'nats-2'].map(async (node) => ({
          node,
          varz: (await monitor(node, '/varz')) as {
            tls_required?: boolean;
            cluster?: { tls_required?: boolean; tls_verify?: boolean };
          },
          connz: (await monitor(node, '/connz?limit=4096')) as {
            connections: { name?: string; tls_version?: string }[];
          },
        })),
      ),
    );
    let clients = 0;
    for (const { node, varz, connz } of nodes) {
      expect({
        node,
        tls: varz.tls_required,
        routes: varz.cluster?.tls_required,
        verify: varz.cluster?.tls_verify,
      }).toEqual({
        node,
        tls: true,
        routes: true,
        verify: true,
      });
      expect(connz.connections.filter((c) => !c.tls_version).map((c) => c.name)).toEqual([]);
      clients += connz.connections.length;
    }
    // The hub's connections and every cluster's agents (those linked from onboarding on): all TLS.
    const linked = AGENTS.filter((a) => agentHasLink(a) && !ON_DEMAND_LINK_AGENTS.includes(a));
    expect(clients).toBeGreaterThanOrEqual(FLEET_SIZE * linked.length);
  });

  it("reaches a cluster's apiserver from the host only through cluster connect", async () => {
    const target = (await clusters()).map((c) => c.name).sort()[0] as string;
    const ref = {
      subscriptionId: DEFAULT_SUBSCRIPTION_ID,
      resourceGroup: DEFAULT_RESOURCE_GROUP,
      name: target,
    };
    const kubeconfig = parseYaml(await hub.clusterUserKubeconfig(ref, 'compose-test')) as {
      clusters: { cluster: { server: string } }[];
      users: { user: { token: string } }[];
    };
    // The kubeconfig names the hub as the page's public URL (localhost:HUB_PORT); the test's port is its own.
    const server = (kubeconfig.clusters[0]?.cluster.server ?? '').replace(
      /^https:\/\/[^/]+/,
      `https://127.0.0.1:${ports.hub}`,
    );
    const pods = await step('cluster connect: pods in azure-arc through the hub', () =>
      waitFor(
        async () => {
          const res = await fetch(`${server}/api/v1/namespaces/azure-arc/pods`, {
            headers: { authorization: `Bearer ${kubeconfig.users[0]?.user.token ?? ''}` },
          });
          return res.ok ? ((await res.json()) as { items: { status: { phase: string } }[] }).items : [];
        },
        {
          until: (items) =>
            items.length === DEPLOYED.length && items.every((p) => p.status.phase === 'Running'),
          timeoutMs: 60_000,
          message: 'every Arc agent pod Running, seen through cluster connect',
        },
      ),
    );
    expect(pods).toHaveLength(DEPLOYED.length);
  });

  it("cutting one cluster's egress at the gateway makes it Offline; restoring it, Connected", async () => {
    const victim = (await clusters()).map((c) => c.name).sort()[0] as string;
    const chaos = (...args: string[]) =>
      run(process.execPath, [
        'dist/cli/main.js',
        'chaos',
        ...args,
        '--gateway-url',
        `http://127.0.0.1:${ports.egressApi}`,
      ]);
    await step(`cut ${victim} (arcfleet chaos cut --gateway-url)`, () => chaos('cut', victim));
    const during = await step(`${victim} Offline at the hub`, () =>
      waitFor(clusters, {
        timeoutMs: 60_000,
        intervalMs: 250,
        message: `${victim} Offline`,
        until: (l) => l.find((c) => c.name === victim)?.properties.connectivityStatus === 'Offline',
      }),
    );
    // Only the cut cluster: the others keep their heartbeats through the gateway.
    expect(countBy(during, 'Connected')).toBe(FLEET_SIZE - 1);
    await step(`restore ${victim}`, () => chaos('restore', victim));
    const after = await step(`${victim} Connected again`, () =>
      waitFor(clusters, {
        timeoutMs: 60_000,
        intervalMs: 250,
        message: `${victim} Connected again`,
        until: (l) => countBy(l, 'Connected') === FLEET_SIZE,
      }),
    );
    expect(after.find((c) => c.name === victim)?.properties.connectivityStatus).toBe('Connected');

    // One endpoint class only: the relay; the gateway holds a rule for clusterconnect-agent alone.
    await step(`cut ${victim}'s relay (chaos cut --endpoint relay)`, () =>
      chaos('cut', victim, '--endpoint', 'relay', '--mode', 'reject'),
    );
    const status = await chaos('status', '-o', 'json');
    expect(JSON.parse(status.stdout)).toEqual([
      expect.objectContaining({ cluster: victim, agent: 'clusterconnect-agent', mode: { kind: 'reject' } }),
    ]);
    await step(`restore ${victim}'s relay`, () => chaos('restore', victim, '--endpoint', 'relay'));
    expect(JSON.parse((await chaos('status', '-o', 'json')).stdout)).toEqual([]);
  });

  it('killing a NATS node and a hub replica (SIGKILL) loses no cluster and no acknowledged change', async () => {
    await killOneNodeAndOneReplica({
      hub,
      token,
      env,
      step,
      containers,
      clusters,
      fleetSize: FLEET_SIZE,
      offlineThresholdMs: OFFLINE_THRESHOLD_MS,
    });
  });
});

// deploy/kubernetes, checked without a cluster: rendered by `kubectl kustomize` (offline), every object
// against the strict Kubernetes 1.32 schema of its kind (test/kubernetes/schema-1.32.json, unknown
// fields refused), then the project's own rules: limits and a non-root, capability-free securityContext
// on every container, every env var documented, NATS routes naming every replica, and the shard layout
// (ARCFLEET_SHARD=ordinal/<replicas>, one gateway per shard) the same everywhere.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_NAMES, CLUSTER_LOCAL_AGENTS, agentHasLink, type AgentName } from '../../contract/index.js';
import { brokerInit, type BrokerInitOptions } from '../../cli/commands/broker.js';
import { REPO_ROOT, containersOf, envOf, type ContainerAt, type K8sObject } from '../helpers/kubernetes.js';

const DIR = join(REPO_ROOT, 'deploy', 'kubernetes');
const SCHEMA = JSON.parse(
  readFileSync(join(REPO_ROOT, 'test', 'kubernetes', 'schema-1.32.json'), 'utf8'),
) as {
  $defs: Record<string, unknown>;
};

/** The manifests as `kubectl apply -k` would send them. */
function render(): K8sObject[] {
  const r = spawnSync('kubectl', ['kustomize', DIR], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new Error(
      `kubectl kustomize ${DIR} failed (kubectl 1.32 is expected on PATH): ${r.error?.message ?? r.stderr}`,
    );
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject);
}

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
ajv.addSchema(SCHEMA, 'k8s');
const validators = new Map<string, ValidateFunction>();
/** The schema check of one object: its errors, or a refusal when its kind has no schema. */
function schemaErrors(o: K8sObject): string[] {
  if (!(o.kind in SCHEMA.$defs)) return [`${o.kind}: no schema (add it to scripts/kubernetes-schemas.mjs)`];
  let v = validators.get(o.kind);
  if (!v) validators.set(o.kind, (v = ajv.compile({ $ref: `k8s#/$defs/${o.kind}` })));
  const at = `${o.kind}/${o.metadata.name}`; // before v(o), whose type guard narrows o
  if (v(o)) return [];
  return (v.errors ?? []).map((e) => `${at}${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

let objects: K8sObject[];
const find = (kind: string, name: string): K8sObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return o;
};

describe('deploy/kubernetes', () => {
  let root: string;
  beforeAll(async () => {
    objects = render();
    root = await mkdtemp(join(tmpdir(), 'arcfleet-k8s-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('renders, and every object matches the Kubernetes 1.32 schema of its kind', () => {
    expect(objects.length).toBeGreaterThan(20);
    expect(objects.flatMap(schemaErrors)).toEqual([]);
  });

  it('the schema check is not vacuous: an unknown field, a wrong type or a missing field fails', () => {
    const sts = structuredClone(find('StatefulSet', 'config-agent'));
    const spec = sts.spec as { template: { spec: { containers: Record<string, unknown>[] } } };
    spec.template.spec.containers[0]!.restart = 'Always';
    expect(schemaErrors(sts).join('\n')).toMatch(/containers\/0 must NOT have additional properties/);
    const svc = structuredClone(find('Service', 'hub'));
    (svc.spec as { ports: { port: unknown }[] }).ports[0]!.port = 'eighty';
    expect(schemaErrors(svc).join('\n')).toMatch(/ports\/0\/port must be integer/);
    const job = structuredClone(find('Job', 'fleet-init'));
    delete (job.spec as Record<string, unknown>).template;
    expect(schemaErrors(job).join('\n')).toMatch(/must have required property 'template'/);
    expect(schemaErrors({ ...job, kind: 'CronJob' })).toEqual([expect.stringMatching(/no schema/)]);
  });

  it('every container has requests, limits and a non-root securityContext without capabilities', () => {
    const problems: string[] = [];
    for (const { owner, pod, container: c } of objects.flatMap(containersOf)) {
      const at = `${owner}/${c.name}`;
      const sc = c.securityContext ?? {};
      const podSc = pod.securityContext ?? {};
      if (sc.runAsNonRoot !== true || podSc.runAsNonRoot !== true) problems.push(`${at}: runAsNonRoot`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem`);
      if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${at}: capabilities.drop ALL`);
      if (podSc.seccompProfile?.type !== 'RuntimeDefault') problems.push(`${at}: seccompProfile`);
      for (const r of ['cpu', 'memory'])
        if (!c.resources?.limits?.[r] || !c.resources.requests?.[r])
          problems.push(`${at}: ${r} request/limit`);
    }
    expect(problems).toEqual([]);
  });

  it('only the broker-trust and hub-trust Jobs hold an API token, each allowed to get and patch its named Secrets', () => {
    const tokens = objects
      .flatMap(containersOf)
      .filter(({ pod }) => pod.automountServiceAccountToken !== false)
      .map(({ owner }) => owner);
    expect([...new Set(tokens)].sort()).toEqual(['Job/broker-trust', 'Job/hub-trust']);
    const hubTrust = find('Role', 'hub-trust') as K8sObject & { rules: Record<string, string[]>[] };
    expect(hubTrust.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: ['arcfleet-fleet-trust', 'arcfleet-fleet-hub', 'arcfleet-fleet-broker'],
        verbs: ['get', 'patch'],
      },
    ]);
    // The hub mounts its share only: no CA key, no issuer signing key.
    const hubVolumes = JSON.stringify(find('Deployment', 'hub'));
    expect(hubVolumes).toContain('arcfleet-fleet-hub');
    expect(hubVolumes).not.toMatch(/ca-key\.pem|issuer-key\.json|arcfleet-fleet-trust/);
    const role = find('Role', 'broker-trust') as K8sObject & { rules: Record<string, string[]>[] };
    expect(role.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: ['arcfleet-broker-trust', 'arcfleet-broker-server', 'arcfleet-broker-hub'],
        verbs: ['get', 'patch'],
      },
    ]);
    for (const cm of objects.filter((o) => o.kind === 'ConfigMap'))
      expect(JSON.stringify(cm)).not.toMatch(/BEGIN NATS|\bS[OAU][A-Z2-7]{50,}|eyJ/);
  });

  it('documents every environment variable a container sets in docs/configuration.md', async () => {
    const doc = await readFile(join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8');
    const names = new Set(objects.flatMap(containersOf).flatMap((c) => [...envOf(c, objects).keys()]));
    expect(names.size).toBeGreaterThan(15);
    expect([...names].filter((n) => !doc.includes(`\`${n}\``))).toEqual([]);
  });

  it('the broker-trust Job writes a nats.conf whose routes name every replica of the nats StatefulSet', async () => {
    const nats = find('StatefulSet', 'nats') as K8sObject & {
      spec: { replicas: number; serviceName: string };
    };
    const job = containersOf(find('Job', 'broker-trust'))[0]!.container;
    const args = job.args ?? [];
    expect(args.slice(0, 4)).toEqual(['node', 'dist/cli/main.js', 'broker', 'init']);
    const flag = (name: string): string => args[args.indexOf(name) + 1] ?? '';
    const o: BrokerInitOptions = {
      dir: join(root, 'broker'),
      hubDir: join(root, 'hub'),
      serverDir: flag('--server-dir'),
      storeDir: flag('--store-dir'),
      resolverDir: flag('--resolver-dir'),
      host: '0.0.0.0',
      port: Number(flag('--port')),
      monitorPort: Number(flag('--monitor-port')),
      nodes: Number(flag('--nodes')),
      routeHostPattern: flag('--route-host-pattern'),
      routePort: Number(flag('--route-port')),
      serverName: '$POD_NAME',
      tlsDir: flag('--tls-dir'),
    };
    await brokerInit(o, () => {});
    const conf = await readFile(join(root, 'broker', 'nats.conf'), 'utf8');
    const routes = /routes: \[(.*)\]/
      .exec(conf)?.[1]
      ?.split(', ')
      .map((r) => JSON.parse(r) as string);
    const every = Array.from({ length: nats.spec.replicas }, (_, i) => `nats-${i}.${nats.spec.serviceName}`);
    expect(routes).toEqual(every.map((h) => `nats-route://${h}:6222`));
    expect(conf).toContain('server_name: $POD_NAME');
    expect(conf).toContain('no_advertise: true');
    // The pods mount the server Secret where the config names operator.jwt, and own the store.
    const natsPod = containersOf(nats).find((c) => c.container.name === 'nats')!;
    expect(natsPod.container.command).toEqual(['nats-server', '-c', `${o.serverDir}/nats.conf`]);
    expect(envOf(natsPod, objects).get('POD_NAME')).toBe('<metadata.name>');
    // Every client of the broker is given every node.
    const urls = every.map((h) => `nats://${h}:4222`).join(',');
    for (const c of objects.flatMap(containersOf)) {
      const url = envOf(c, objects).get('ARCFLEET_NATS_URL');
      if (url !== undefined) expect(`${c.owner}: ${url}`).toBe(`${c.owner}: ${urls}`);
    }
  });

  it('runs NATS over TLS: the certificate where nats.conf names it, naming every route host; every client trusts the CA', async () => {
    const nats = find('StatefulSet', 'nats') as K8sObject & {
      spec: { replicas: number; serviceName: string };
    };
    const flagOf = (args: readonly string[], name: string): string[] =>
      args.flatMap((a, i) => (a === name ? [args[i + 1] ?? ''] : []));
    const brokerJob = containersOf(find('Job', 'broker-trust'))[0]!.container;
    const tlsDir = flagOf(brokerJob.args ?? [], '--tls-dir')[0] ?? '';
    expect(tlsDir).not.toBe('');
    // The nats pods mount the broker's share there, from the Secret hub-trust fills.
    const mounts = (c: ContainerAt): { name: string; mountPath: string }[] =>
      (c.container as unknown as { volumeMounts?: { name: string; mountPath: string }[] }).volumeMounts ?? [];
    const volumes = (
      c: ContainerAt,
    ): { name: string; secret?: { secretName: string; items?: { key: string }[] } }[] =>
      (
        c.pod as unknown as {
          volumes?: { name: string; secret?: { secretName: string; items?: { key: string }[] } }[];
        }
      ).volumes ?? [];
    const secretAt = (c: ContainerAt, path: string) => {
      const mount = mounts(c).find((m) => m.mountPath === path);
      return volumes(c).find((v) => v.name === mount?.name)?.secret;
    };
    const natsPod = containersOf(nats).find((c) => c.container.name === 'nats')!;
    const share = secretAt(natsPod, tlsDir);
    expect(share?.secretName).toBe('arcfleet-fleet-broker');
    expect(share?.items?.map((i) => i.key).sort()).toEqual(['broker-key.pem', 'broker.pem', 'ca.pem']);
    // hub-trust makes that certificate for every route host the nodes dial.
    const hubJob = containersOf(find('Job', 'hub-trust'))[0]!.container;
    const every = Array.from({ length: nats.spec.replicas }, (_, i) => `nats-${i}.${nats.spec.serviceName}`);
    expect(flagOf(hubJob.args ?? [], '--broker-host')).toEqual(every);
    expect(flagOf(hubJob.args ?? [], '--broker-dir')).toHaveLength(1);
    // Every NATS client (the hub and each linked agent) has ARCFLEET_NATS_CA, mounted from a Secret's ca.pem.
    const owners = ['Deployment/hub', ...AGENT_NAMES.filter(agentHasLink).map((a) => `StatefulSet/${a}`)];
    const clients = objects.flatMap(containersOf).filter((c) => owners.includes(c.owner));
    expect([...new Set(clients.map((c) => c.owner))].sort()).toEqual([...owners].sort());
    for (const c of clients) {
      const ca = envOf(c, objects).get('ARCFLEET_NATS_CA');
      expect(ca, c.owner).toMatch(/\/ca\.pem$/);
      const secret = secretAt(c, (ca ?? '').replace(/\/ca\.pem$/, ''));
      expect(
        secret?.items?.map((i) => i.key),
        c.owner,
      ).toContain('ca.pem');
      expect(
        secret?.items?.map((i) => i.key).some((k) => /key/.test(k) && c.owner !== 'Deployment/hub'),
        c.owner,
      ).toBe(false);
    }
    // An agent without a link gets neither the CA nor any Secret at all.
    for (const agent of CLUSTER_LOCAL_AGENTS) {
      const sts = find('StatefulSet', agent) as K8sObject & {
        spec: { template: { spec: { volumes?: { secret?: unknown }[] } } };
      };
      const [c] = containersOf(sts);
      expect(envOf(c!, objects).has('ARCFLEET_NATS_CA'), agent).toBe(false);
      expect(sts.spec.template.spec.volumes?.filter((v) => v.secret !== undefined) ?? [], agent).toEqual([]);
    }
  });

  it('shards: one StatefulSet per agent kind, the gateway and the apiserver, ordinal = shard, all agreeing', () => {
    const gateway = find('StatefulSet', 'egress-gateway') as K8sObject & { spec: { replicas: number } };
    const shards = gateway.spec.replicas;
    for (const name of [...AGENT_NAMES, 'egress-gateway', 'kube-apiserver']) {
      const sts = find('StatefulSet', name) as K8sObject & { spec: { replicas: number } };
      expect(`${name}: ${sts.spec.replicas}`).toBe(`${name}: ${shards}`);
      const [c] = containersOf(sts);
      const env = envOf(c!, objects);
      expect(`${name}: ${env.get('ARCFLEET_SHARD')}`).toBe(`${name}: ordinal/${sts.spec.replicas}`);
      if ((AGENT_NAMES as readonly string[]).includes(name)) {
        expect(c!.container.args).toEqual(['node', `dist/services/${name}/main.js`]);
        // The cluster-local agents never leave the cluster: no way out through the gateway either.
        expect(env.get('ARCFLEET_EGRESS_URL'), name).toBe(
          agentHasLink(name as AgentName) ? 'nats://egress-gateway-{shard}.egress-gateway:4223' : undefined,
        );
      }
    }
    const hub = containersOf(find('Deployment', 'hub'))[0]!;
    const gateways = Array.from(
      { length: shards },
      (_, i) => `http://egress-gateway-${i}.egress-gateway:8090`,
    );
    expect(envOf(hub, objects).get('ARCFLEET_EGRESS_API_URL')).toBe(gateways.join(','));
  });

  it('hub replicas: the Deployment tells each hub how many share the KV buckets', () => {
    const hub = find('Deployment', 'hub') as K8sObject & { spec: { replicas: number } };
    const [c] = containersOf(hub);
    expect(hub.spec.replicas).toBeGreaterThan(1);
    expect(envOf(c!, objects).get('ARCFLEET_HUB_REPLICAS')).toBe(String(hub.spec.replicas));
  });
});

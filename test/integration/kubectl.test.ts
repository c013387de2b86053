/**
 * The real kubectl (1.32, /usr/bin/kubectl) with nothing but the raw kubeconfig from
 * listClusterUserCredential, over the hub's HTTPS cluster-connect endpoint to the cluster's emulated
 * apiserver: client-side apply (create, then a changed apply that kubectl turns into a three-way
 * strategic merge patch with the server's OpenAPI v3 schemas), diff (a server dry run), strict field
 * validation, and explain. Real processes throughout, via `startFleet`.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClientProxy } from '../../cli/commands/proxy.js';
import { startFleet, type FleetHandle } from '../../fleet/index.js';
import { FAST_TIMINGS } from '../helpers/fleet.js';

const KUBECTL = '/usr/bin/kubectl';

let dataDir: string;
let fleet: FleetHandle;
let kubeconfig: string;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** kubectl with the raw kubeconfig only, its own cache and HOME; never throws (the exit code is the answer). */
function kubectl(...args: string[]): Promise<Ran> {
  return kubectlWith(kubeconfig, ...args);
}

function kubectlWith(config: string, ...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      KUBECTL,
      ['--kubeconfig', config, ...args],
      {
        env: { PATH: process.env['PATH'] ?? '', HOME: dataDir, KUBECACHEDIR: join(dataDir, 'kube-cache') },
        timeout: 30_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function manifest(name: string, text: string): Promise<string> {
  const file = join(dataDir, 'manifests', name);
  await writeFile(file, text);
  return file;
}

function web(image: string, bValue: string, extra = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ${image}
        ports: [{containerPort: 80}]
        env: [{name: A, value: "1"}, {name: B, value: "${bValue}"}]
      - name: side
        image: busybox:1.36${extra}
`;
}

const SETTINGS_V1 = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default}
data: {a: "1", b: "2"}
`;
const SETTINGS_V2 = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default}
data: {a: "1", c: "3"}
`;

interface Deployment {
  metadata: { resourceVersion: string; annotations?: Record<string, string> };
  spec: {
    replicas: number;
    template: {
      spec: { containers: { name: string; image: string; env?: unknown[]; ports?: unknown[] }[] };
    };
  };
}

async function getJson<T>(...args: string[]): Promise<T> {
  const r = await kubectl('get', ...args, '-o', 'json');
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as T;
}

beforeAll(async () => {
  // Not skipped when kubectl is missing: the machines this runs on have it (README, "Tests").
  await access(KUBECTL, constants.X_OK).catch(() => {
    throw new Error(`${KUBECTL} is missing: this test runs the real kubectl (install kubectl 1.32)`);
  });
  dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-kubectl-'));
  await mkdir(join(dataDir, 'manifests'));
  fleet = await startFleet({ dataDir, clusters: 1, timeScale: 60, env: { ...FAST_TIMINGS } });
  await fleet.waitAllConnected({ timeoutMs: 60_000 });
  const c = fleet.clusters[0];
  if (!c) throw new Error('no cluster');
  kubeconfig = join(dataDir, 'alice.kubeconfig');
  await writeFile(kubeconfig, await fleet.client.clusterUserKubeconfig(c, 'alice@contoso.com'), {
    mode: 0o600,
  });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('kubectl against a connected cluster, with the raw kubeconfig', () => {
  it('applies new objects: created, with the last-applied configuration kept', async () => {
    const r = await kubectl(
      'apply',
      '-f',
      await manifest('web-1.yaml', `${web('nginx:1.25', '2')}---\n${SETTINGS_V1}`),
    );
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe('deployment.apps/web created\nconfigmap/settings created\n');
    const d = await getJson<Deployment>('deployment', 'web', '-n', 'default');
    expect(d.spec.template.spec.containers.map((c) => c.name)).toEqual(['web', 'side']);
    expect(d.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toContain(
      'nginx:1.25',
    );
  });

  it('diffs a changed manifest through a server dry run that stores nothing', async () => {
    const before = await getJson<Deployment>('deployment', 'web', '-n', 'default');
    const r = await kubectl(
      'diff',
      '-f',
      await manifest('web-2.yaml', `${web('nginx:1.27', '3')}---\n${SETTINGS_V2}`),
    );
    // kubectl diff exits 1 when there are differences (0: none, >1: an error).
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^-\s+image: nginx:1\.25$/m);
    expect(r.stdout).toMatch(/^\+\s+image: nginx:1\.27$/m);
    expect(r.stdout).toMatch(/^-\s+b: "2"$/m);
    expect(r.stdout).toMatch(/^\+\s+c: "3"$/m);
    const after = await getJson<Deployment>('deployment', 'web', '-n', 'default');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.spec.template.spec.containers[0]?.image).toBe('nginx:1.25');
  });

  it('applies a changed manifest as a three-way strategic merge: lists merged by key, removed keys gone', async () => {
    const r = await kubectl('apply', '-f', join(dataDir, 'manifests', 'web-2.yaml'));
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe('deployment.apps/web configured\nconfigmap/settings configured\n');
    const d = await getJson<Deployment>('deployment', 'web', '-n', 'default');
    expect(d.spec.template.spec.containers).toEqual([
      {
        name: 'web',
        image: 'nginx:1.27',
        ports: [{ containerPort: 80 }],
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '3' },
        ],
      },
      { name: 'side', image: 'busybox:1.36' },
    ]);
    expect(JSON.stringify(d)).not.toContain('$setElementOrder');
    const cm = await getJson<{ data: Record<string, string> }>('configmap', 'settings', '-n', 'default');
    expect(cm.data).toEqual({ a: '1', c: '3' });
    const again = await kubectl('apply', '-f', join(dataDir, 'manifests', 'web-2.yaml'));
    expect(again.stdout).toBe('deployment.apps/web unchanged\nconfigmap/settings unchanged\n');
  });

  it('refuses a misspelt field (kubectl asks for strict validation) and changes nothing', async () => {
    const before = await getJson<Deployment>('deployment', 'web', '-n', 'default');
    const r = await kubectl(
      'apply',
      '-f',
      await manifest('web-typo.yaml', web('nginx:1.27', '3', '\n        imagee: x')),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'strict decoding error: unknown field "spec.template.spec.containers[1].imagee"',
    );
    const after = await getJson<Deployment>('deployment', 'web', '-n', 'default');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('applies server-side: creates, drops what the manager stopped applying, conflicts with another manager until forced', async () => {
    const api = (image: string, env: string, replicas: number): string =>
      web(image, '2')
        .replaceAll('web', 'api')
        .replace('replicas: 2', `replicas: ${replicas}`)
        .replace(/env: \[.*\]/, `env: [${env}]`);
    const v1 = await manifest(
      'api-1.yaml',
      api('nginx:1.25', '{name: A, value: "1"}, {name: B, value: "2"}', 2),
    );
    const created = await kubectl('apply', '--server-side', '-f', v1);
    expect(created).toMatchObject({
      code: 0,
      stderr: '',
      stdout: 'deployment.apps/api serverside-applied\n',
    });
    const v2 = await manifest('api-2.yaml', api('nginx:1.27', '{name: A, value: "1"}', 2));
    const diff = await kubectl('diff', '--server-side', '-f', v2);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(/^\+\s+image: nginx:1\.27$/m);
    expect((await kubectl('apply', '--server-side', '-f', v2)).code).toBe(0);
    const d = await getJson<
      Deployment & { metadata: { managedFields?: { manager: string; operation: string }[] } }
    >('deployment', 'api', '-n', 'default', '--show-managed-fields');
    expect(d.spec.template.spec.containers[0]?.env).toEqual([{ name: 'A', value: '1' }]);
    expect(d.spec.template.spec.containers[0]?.image).toBe('nginx:1.27');
    expect(d.metadata.managedFields?.map((f) => [f.manager, f.operation])).toEqual([['kubectl', 'Apply']]);
    // Another manager takes replicas; applying a different value conflicts until forced.
    expect(
      (
        await kubectl(
          'patch',
          'deployment',
          'api',
          '-n',
          'default',
          '--type',
          'merge',
          '-p',
          '{"spec":{"replicas":5}}',
        )
      ).code,
    ).toBe(0);
    const v3 = await manifest('api-3.yaml', api('nginx:1.27', '{name: A, value: "1"}', 3));
    const conflict = await kubectl('apply', '--server-side', '-f', v3);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl-patch" using apps/v1: .spec.replicas',
    );
    expect((await getJson<Deployment>('deployment', 'api', '-n', 'default')).spec.replicas).toBe(5);
    expect((await kubectl('apply', '--server-side', '--force-conflicts', '-f', v3)).code).toBe(0);
    expect((await getJson<Deployment>('deployment', 'api', '-n', 'default')).spec.replicas).toBe(3);
  });

  it('explains kinds and fields from the OpenAPI v3 schemas', async () => {
    const r = await kubectl('explain', 'deployment.spec.template.spec.containers');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^GROUP:\s+apps$/m);
    expect(r.stdout).toMatch(/^KIND:\s+Deployment$/m);
    expect(r.stdout).toMatch(/^FIELD: containers <\[\]Container>$/m);
    expect(r.stdout).toMatch(/^ {2}image\t<string>$/m);
    expect(r.stdout).toMatch(/^ {2}name\t<string> -required-$/m);
    const cm = await kubectl('explain', 'configmap.data');
    expect(cm.stdout).toMatch(/^FIELD: data <map\[string\]string>$/m);
    // The v2 form, which kubectl (and helm, and older clients) fetch as gnostic's protobuf.
    const v2 = await kubectl('explain', 'deployment.spec.strategy', '--output', 'plaintext-openapiv2');
    expect(v2).toMatchObject({ code: 0, stderr: '' });
    expect(v2.stdout).toMatch(/^RESOURCE: strategy <Object>$/m);
    expect(v2.stdout).toMatch(/^ {3}type\t<string>$/m);
  });

  it('get --raw reaches the cluster though kubectl drops the server path; the hub routes by the token', async () => {
    // kubectl sends a raw path from the host's root, without the kubeconfig server's path prefix.
    const version = await kubectl('get', '--raw', '/version');
    expect(version).toMatchObject({ code: 0, stderr: '' });
    expect((JSON.parse(version.stdout) as { emulator?: string }).emulator).toBe('arcfleet');
    const v2 = await kubectl('get', '--raw', '/openapi/v2');
    expect((JSON.parse(v2.stdout) as { swagger: string }).swagger).toBe('2.0');
    // Without a token the hub root refuses, as a Kubernetes Status, and never guesses a cluster.
    const anonymous = await fetch(`${fleet.hubUrl}/api/v1/namespaces`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { reason: string }).reason).toBe('Unauthorized');
    const forged = await fetch(`${fleet.hubUrl}/api/v1/namespaces`, {
      headers: {
        authorization: `Bearer ${Buffer.from('{"typ":"cluster-user"}').toString('base64url')}.c2ln`,
      },
    });
    expect(forged.status).toBe(401);
  });

  it('explains through arcfleet proxy too (its root is the cluster)', async () => {
    const c = fleet.clusters[0];
    if (!c) throw new Error('no cluster');
    const proxy = await startClientProxy(fleet.client, c, { port: 0, user: 'alice@contoso.com' });
    try {
      const file = join(dataDir, 'proxy.kubeconfig');
      await writeFile(file, proxy.kubeconfig, { mode: 0o600 });
      const r = await kubectlWith(file, 'explain', 'pods.spec.containers.ports');
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(/^ {2}containerPort\t<integer> -required-$/m);
    } finally {
      await proxy.close();
    }
  });
});

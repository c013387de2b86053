/**
 * The real kubectl against one cluster of a test fleet, straight at the emulated apiserver as a
 * process inside the cluster would reach it (no cluster connect): a kubeconfig written 0600 in the
 * fleet's data directory, and a runner that returns the exit code instead of throwing.
 */
import { execFile } from 'node:child_process';
import { access, constants, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TestFleet } from './fleet.js';

export const KUBECTL = '/usr/bin/kubectl';
const run = promisify(execFile);

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Fails the suite naming what to install when kubectl is missing (never a silent skip). */
export async function requireKubectl(): Promise<void> {
  await access(KUBECTL, constants.X_OK).catch(() => {
    throw new Error(`${KUBECTL} is missing: this test runs the real kubectl (install kubectl 1.32)`);
  });
}

/** Writes a kubeconfig for `cluster` of `fleet` and returns a kubectl bound to it. */
export async function kubectlFor(
  fleet: TestFleet,
  cluster: string,
): Promise<(...args: string[]) => Promise<KubectlResult>> {
  const kubeconfig = join(fleet.dataDir, `${cluster}.kubeconfig`);
  const server = `${fleet.handle.kubeApiserverUrl}/clusters/${encodeURIComponent(cluster)}`;
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server } }],
      users: [{ name: 'u', user: { token: 'in-cluster' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    }),
    { mode: 0o600 },
  );
  return async (...args) => {
    try {
      const r = await run(KUBECTL, ['--kubeconfig', kubeconfig, ...args]);
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
}

/** One Connected cluster with the apiserver and its controllers, and a kubectl bound to it. */
export async function kubectlFleet(): Promise<{
  fleet: TestFleet;
  cluster: string;
  kubectl: (...args: string[]) => Promise<KubectlResult>;
}> {
  await requireKubectl();
  const fleet = await TestFleet.start({ clusters: 1, kubeApiserver: true });
  await fleet.waitAll('Connected');
  const cluster = fleet.clusters[0]?.name as string;
  return { fleet, cluster, kubectl: await kubectlFor(fleet, cluster) };
}

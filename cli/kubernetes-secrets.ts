/**
 * Reads and patches named Kubernetes Secrets from inside a pod, with the pod's service account: what
 * `arcfleet broker init --kubernetes-secrets` needs to keep the broker's trust chain in Secrets
 * (deploy/kubernetes). Only `get` and `patch` of a Secret by name, so a Role limited to those verbs and
 * those names suffices (`create` cannot be limited to names: the Secrets exist beforehand, empty).
 *
 *   const secrets = inClusterSecrets();            // token, CA and namespace of the pod's account
 *   await secrets.read('arcfleet-broker-trust')    // { 'trust.json': Buffer } or undefined
 *   await secrets.patch('arcfleet-broker-hub', { 'hub.creds': '...' })
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';

export interface SecretStore {
  /** The Secret's files, or undefined when it has none yet. */
  read(name: string): Promise<Record<string, Buffer> | undefined>;
  /** Sets these files of the Secret (a merge: other keys stay). */
  patch(name: string, files: Readonly<Record<string, string | Buffer>>): Promise<void>;
}

export interface KubernetesApiOptions {
  /** `https://<host>:<port>` of the API server. */
  readonly baseUrl: string;
  readonly token: string;
  readonly namespace: string;
  /** PEM of the cluster CA (https only). */
  readonly ca?: string | Buffer;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The pod's own service account, as every in-cluster client finds it. */
export function inClusterSecrets(
  env: NodeJS.ProcessEnv = process.env,
  dir: string = SERVICE_ACCOUNT_DIR,
): SecretStore {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('not in a Kubernetes pod: KUBERNETES_SERVICE_HOST is not set');
  return kubernetesSecrets({
    baseUrl: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    token: readFileSync(join(dir, 'token'), 'utf8').trim(),
    namespace: readFileSync(join(dir, 'namespace'), 'utf8').trim(),
    ca: readFileSync(join(dir, 'ca.crt')),
  });
}

export function kubernetesSecrets(o: KubernetesApiOptions): SecretStore {
  const path = (name: string): string =>
    `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/secrets/${encodeURIComponent(name)}`;
  const call = (method: string, name: string, body?: unknown): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const url = new URL(path(name), o.baseUrl);
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        {
          method,
          ...(o.ca ? { ca: o.ca } : {}),
          headers: {
            authorization: `Bearer ${o.token}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/merge-patch+json' } : {}),
          },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  const fail = (what: string, r: { status: number; text: string }): Error =>
    new Error(`${what}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  return {
    async read(name) {
      const r = await call('GET', name);
      if (r.status !== 200) throw fail(`get secret ${o.namespace}/${name}`, r);
      const data = (JSON.parse(r.text) as { data?: Record<string, string> }).data ?? {};
      const files = Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64')] as const);
      return files.length ? Object.fromEntries(files) : undefined;
    },
    async patch(name, files) {
      const data = Object.fromEntries(
        Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      );
      const r = await call('PATCH', name, { data });
      if (r.status !== 200) throw fail(`patch secret ${o.namespace}/${name}`, r);
    },
  };
}

/** A SecretStore in memory, with the same merge semantics as the Kubernetes one (cli/kubernetes-secrets.ts). */
import type { SecretStore } from '../../cli/kubernetes-secrets.js';

export function memorySecrets(): SecretStore & { data: Map<string, Record<string, Buffer>> } {
  const data = new Map<string, Record<string, Buffer>>();
  return {
    data,
    read: (name) => Promise.resolve(data.get(name)),
    patch: (name, files) => {
      const merged = { ...data.get(name) };
      for (const [k, v] of Object.entries(files)) merged[k] = Buffer.from(v);
      data.set(name, merged);
      return Promise.resolve();
    },
  };
}

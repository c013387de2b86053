/**
 * File-backed store of the emulated clusters' in-cluster state, under `<dataDir>/clusters/<name>/`:
 *   cluster.json                              the cluster (Kubernetes version, node pools, ...)
 *   secrets/azure-arc-onboarding.json         what the installer handed the agents (key pair, bootstrap token)
 *   secrets/azure-identity-certificate.json   the MSI certificate, shared by the cluster's agents
 *   status/<agent>.json                       each running agent's status (metrics-agent reads them)
 *   agents/<agent>.json                       what an agent remembers across its restarts
 *
 * This is the "inside" of each cluster: the agents read and write it; the hub never sees it. Writes
 * are atomic (temp file + rename) so a reader never sees half a file.
 */
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import {
  agentMemoSchema,
  agentStatusSchema,
  clusterStateSchema,
  identitySecretSchema,
  onboardingSecretSchema,
  type AgentMemo,
  type AgentStatus,
  type ClusterState,
  type IdentitySecret,
  type OnboardingSecret,
} from './cluster-state.js';

export const SECRET_ONBOARDING = 'azure-arc-onboarding';
export const SECRET_IDENTITY = 'azure-identity-certificate';

export class ClusterStore {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'clusters');
  }

  dir(name: string): string {
    return join(this.root, name);
  }

  async list(): Promise<string[]> {
    try {
      const entries = await readdir(this.root, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async readState(name: string): Promise<ClusterState | undefined> {
    return this.readJson(join(this.dir(name), 'cluster.json'), clusterStateSchema);
  }

  async writeState(state: ClusterState): Promise<void> {
    await this.writeJson(join(this.dir(state.name), 'cluster.json'), state);
  }

  /** Read-modify-write of the cluster state; bumps generation and changedAt. */
  async updateState(
    name: string,
    nowIso: string,
    change: (state: ClusterState) => ClusterState,
  ): Promise<ClusterState | undefined> {
    const current = await this.readState(name);
    if (!current) return undefined;
    const next = { ...change(current), generation: current.generation + 1, changedAt: nowIso };
    await this.writeState(next);
    return next;
  }

  /** mtime of cluster.json, to poll for changes cheaply. */
  async stateVersion(name: string): Promise<number | undefined> {
    try {
      return (await stat(join(this.dir(name), 'cluster.json'))).mtimeMs;
    } catch {
      return undefined;
    }
  }

  async readOnboarding(name: string): Promise<OnboardingSecret | undefined> {
    return this.readJson(this.secretPath(name, SECRET_ONBOARDING), onboardingSecretSchema);
  }

  async writeOnboarding(name: string, secret: OnboardingSecret): Promise<void> {
    await this.writeJson(this.secretPath(name, SECRET_ONBOARDING), secret);
  }

  async readIdentity(name: string): Promise<IdentitySecret | undefined> {
    return this.readJson(this.secretPath(name, SECRET_IDENTITY), identitySecretSchema);
  }

  async writeIdentity(name: string, secret: IdentitySecret): Promise<void> {
    await this.writeJson(this.secretPath(name, SECRET_IDENTITY), secret);
  }

  async deleteSecret(name: string, secret: string): Promise<void> {
    await rm(this.secretPath(name, secret), { force: true });
  }

  /** Writes the agent's status file (`status/<agent>.json`); not for a cluster that is gone. */
  async writeAgentStatus(name: string, status: AgentStatus): Promise<void> {
    if ((await this.stateVersion(name)) === undefined) return;
    await this.writeJson(this.statusPath(name, status.agent), status);
  }

  async removeAgentStatus(name: string, agent: string): Promise<void> {
    await rm(this.statusPath(name, agent), { force: true });
  }

  /** Every readable status file of the cluster; unreadable or invalid ones are listed in `invalid`. */
  async readAgentStatuses(name: string): Promise<{ statuses: AgentStatus[]; invalid: string[] }> {
    let files: string[];
    try {
      files = (await readdir(join(this.dir(name), 'status'))).filter((f) => f.endsWith('.json'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { statuses: [], invalid: [] };
      throw err;
    }
    const statuses: AgentStatus[] = [];
    const invalid: string[] = [];
    for (const file of files) {
      try {
        const status = await this.readJson(join(this.dir(name), 'status', file), agentStatusSchema);
        if (status) statuses.push(status);
      } catch {
        invalid.push(file);
      }
    }
    return { statuses, invalid };
  }

  async readAgentMemo(name: string, agent: string): Promise<AgentMemo | undefined> {
    return this.readJson(join(this.dir(name), 'agents', `${agent}.json`), agentMemoSchema);
  }

  /** Not for a cluster that is gone (the memo would recreate its directory). */
  async writeAgentMemo(name: string, agent: string, memo: AgentMemo): Promise<void> {
    if ((await this.stateVersion(name)) === undefined) return;
    await this.writeJson(join(this.dir(name), 'agents', `${agent}.json`), agentMemoSchema.parse(memo));
  }

  async remove(name: string): Promise<void> {
    await rm(this.dir(name), { recursive: true, force: true });
  }

  private statusPath(name: string, agent: string): string {
    return join(this.dir(name), 'status', `${agent}.json`);
  }

  private secretPath(name: string, secret: string): string {
    return join(this.dir(name), 'secrets', `${secret}.json`);
  }

  private async readJson<T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return schema.parse(JSON.parse(text));
  }

  private async writeJson(path: string, value: unknown): Promise<void> {
    const dir = join(path, '..');
    await mkdir(dir, { recursive: true });
    const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(value, null, 2));
    await rename(tmp, path);
  }
}

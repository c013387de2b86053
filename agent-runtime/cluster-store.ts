/**
 * File-backed store of the emulated clusters' in-cluster state, under `<dataDir>/clusters/<name>/`:
 *   cluster.json                              the cluster (Kubernetes version, node pools, ...)
 *   secrets/azure-arc-onboarding.json         what the installer handed the agents (key pair, bootstrap token)
 *   secrets/azure-identity-certificate.json   the MSI certificate, shared by the cluster's agents
 *   status/<agent>.json                       each running agent's status (metrics-agent reads them)
 *   agents/<agent>.json                       what an agent remembers across its restarts
 * and, per agent process, `<dataDir>/run/<agent>.alive.json` (ProcessBeat: the process is alive).
 * Every write of cluster.json or of the onboarding or identity secret, and every removed cluster, is
 * also a line of the change journal `<dataDir>/run/cluster-changes.journal` (cluster-journal.ts), so
 * the agent hosts look only at what changed: write those files through this class only.
 *
 * This is the "inside" of each cluster: the agents read and write it; the hub never sees it. Writes
 * are atomic (temp file + rename) so a reader never sees half a file.
 */
import { link, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import {
  agentMemoSchema,
  linkConnectivitySchema,
  type LinkConnectivity,
  clusterStateSchema,
  inShard,
  shardOf,
  SINGLE_SHARD,
  type Shard,
  identitySecretSchema,
  onboardingSecretSchema,
  type AgentMemo,
  type AgentStatus,
  type ClusterState,
  type IdentitySecret,
  type OnboardingSecret,
  type ProcessBeat,
} from '../contract/index.js';
import {
  SECRET_FILE_MODE,
  writeFileAtomically,
  writeJsonAtomically,
  type AtomicWriteOptions,
} from '../platform/atomic-file.js';
import { formatUserCreds, userSeedFromPrivateKeyPem } from '../platform/broker-keys.js';
import { AgentStatusReader, type AgentStatuses } from './agent-status-reader.js';
import { ClusterChangeReader, ClusterJournal, type ClusterChange } from './cluster-journal.js';

export const SECRET_ONBOARDING = 'azure-arc-onboarding';
export const SECRET_IDENTITY = 'azure-identity-certificate';
/** The cluster's NATS user as a standard `.creds` file (`nats --creds`), 0600. */
export const SECRET_BROKER_CREDENTIALS = 'azure-arc-broker-credentials';
/** Secrets stored as something other than JSON, by file extension. */
const SECRET_EXTENSIONS: Readonly<Record<string, string>> = { [SECRET_BROKER_CREDENTIALS]: '.creds' };
/** The secrets the agent hosts watch, with their journal line. */
const WATCHED_SECRETS: Readonly<Record<string, ClusterChange>> = {
  [SECRET_ONBOARDING]: 'onboarding',
  [SECRET_IDENTITY]: 'identity',
};

export class ClusterStore {
  readonly root: string;
  private readonly journal: ClusterJournal;
  private readonly statusReader: AgentStatusReader;

  /** The shard this process serves: `list()` and the change journal name only its clusters. */
  readonly shard: Shard;

  constructor(dataDir: string, opts: { readonly now?: () => number; readonly shard?: Shard } = {}) {
    this.root = join(dataDir, 'clusters');
    this.shard = opts.shard ?? SINGLE_SHARD;
    this.statusReader = new AgentStatusReader({
      clusterDir: (name) => this.dir(name),
      beatPath: (agent, shard) => this.beatPath(agent, shard),
      readJson: (path, schema) => this.readJson(path, schema),
      ...(opts.now ? { now: opts.now } : {}),
    });
    this.journal = new ClusterJournal(join(dataDir, 'run', 'cluster-changes.journal'));
  }

  /** A reader of the change journal from now on (its first read asks for a full scan). */
  changeReader(): ClusterChangeReader {
    return new ClusterChangeReader(this.journal.path);
  }

  /** Whether this process serves the cluster (always, unless the fleet is sharded). */
  hosts(name: string): boolean {
    return inShard(name, this.shard);
  }

  dir(name: string): string {
    return join(this.root, name);
  }

  async list(): Promise<string[]> {
    try {
      const entries = await readdir(this.root, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && this.hosts(e.name)).map((e) => e.name);
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
    await this.journal.append(state.name, 'state');
  }

  /**
   * The emulated apiserver stored objects of this cluster (`kube/objects.json`): a journal line, so the
   * agents that read the apiserver (cluster-metadata-operator) hear of it as they hear of a state change.
   */
  async noteKubeObjects(name: string): Promise<void> {
    await this.journal.append(name, 'kube');
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
    await this.writeJson(this.secretPath(name, SECRET_ONBOARDING), secret, { mode: SECRET_FILE_MODE });
    await this.journal.append(name, 'onboarding');
  }

  async readIdentity(name: string): Promise<IdentitySecret | undefined> {
    return this.readJson(this.secretPath(name, SECRET_IDENTITY), identitySecretSchema);
  }

  /**
   * The cluster's broker credentials for tools (`nats --creds <file>` acts as this cluster); the agents
   * read the JWT from the identity secret, written after this.
   */
  async writeBrokerCredentials(name: string, userJwt: string, privateKeyPem: string): Promise<void> {
    const creds = formatUserCreds(userJwt, userSeedFromPrivateKeyPem(privateKeyPem));
    await writeFileAtomically(this.brokerCredentialsPath(name), creds, { mode: SECRET_FILE_MODE });
  }

  /** Where the cluster's `.creds` file is (for `nats --creds`). */
  brokerCredentialsPath(name: string): string {
    return this.secretPath(name, SECRET_BROKER_CREDENTIALS);
  }

  /** The cluster's `.creds` file, or undefined before it onboarded. */
  async readBrokerCredentials(name: string): Promise<string | undefined> {
    try {
      return await readFile(this.brokerCredentialsPath(name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async writeIdentity(name: string, secret: IdentitySecret): Promise<void> {
    await this.writeJson(this.secretPath(name, SECRET_IDENTITY), secret, { mode: SECRET_FILE_MODE });
    await this.journal.append(name, 'identity');
  }

  async deleteSecret(name: string, secret: string): Promise<void> {
    await rm(this.secretPath(name, secret), { force: true });
    const watched = WATCHED_SECRETS[secret];
    if (watched) await this.journal.append(name, watched);
  }

  /**
   * Deletes the onboarding secret only if it still holds `bootstrapToken`; true when it did. Safe
   * against a new onboarding written at the same moment by another process (`arcfleet connect`): the
   * file is first taken with an atomic rename, and a secret that turns out not to be ours is put back
   * with link(), which never overwrites an even newer one.
   */
  async deleteOnboardingIf(name: string, bootstrapToken: string): Promise<boolean> {
    const path = this.secretPath(name, SECRET_ONBOARDING);
    const taken = `${path}.${randomBytes(4).toString('hex')}.taken`;
    try {
      await rename(path, taken);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    const ours = await readFile(taken, 'utf8')
      .then(
        (text) => onboardingSecretSchema.parse(JSON.parse(text)).bootstrapToken === bootstrapToken,
        () => false,
      )
      .catch(() => false);
    if (!ours) await link(taken, path).catch(() => undefined);
    await rm(taken, { force: true });
    // Also when put back: a host may have looked while the secret was taken.
    await this.journal.append(name, 'onboarding');
    return ours;
  }

  /** Writes the agent's status file (`status/<agent>.json`); not for a cluster that is gone. */
  async writeAgentStatus(name: string, status: AgentStatus): Promise<void> {
    if ((await this.stateVersion(name)) === undefined) return;
    // Emulated pod status, rewritten every few seconds: no fsync.
    await this.writeJson(this.statusPath(name, status.agent), status, { durable: false });
  }

  async removeAgentStatus(name: string, agent: string): Promise<void> {
    await rm(this.statusPath(name, agent), { force: true });
  }

  /**
   * Every readable status file of the cluster; unreadable or invalid ones are listed in `invalid`.
   * Cached (agent-status-reader.ts): status files change when an agent starts or stops, while
   * metrics-agent asks about every cluster every interval.
   */
  async readAgentStatuses(name: string): Promise<AgentStatuses> {
    return this.statusReader.statuses(name);
  }

  /** Refreshes this agent process's liveness (one file per process: per agent and shard). */
  async writeProcessBeat(beat: ProcessBeat): Promise<void> {
    await this.writeJson(this.beatPath(beat.agent, this.shard.index ?? 0), beat, { durable: false });
  }

  /**
   * The last beat of every agent process serving `cluster` (its shard's), by agent. A read started less
   * than `maxAgeMs` (real) ago is shared, since one metrics-agent process asks once per cluster per
   * interval.
   */
  async readProcessBeats(cluster: string, maxAgeMs = 250): Promise<ReadonlyMap<string, ProcessBeat>> {
    return this.statusReader.processBeats(maxAgeMs, shardOf(cluster, this.shard.count));
  }

  private beatPath(agent: string, shard: number): string {
    const file = this.shard.count === 1 ? `${agent}.alive.json` : `${agent}.${shard}.alive.json`;
    return join(dirname(this.root), 'run', file);
  }

  async readAgentMemo(name: string, agent: string): Promise<AgentMemo | undefined> {
    return this.readJson(join(this.dir(name), 'agents', `${agent}.json`), agentMemoSchema);
  }

  /** Not for a cluster that is gone (the memo would recreate its directory). */
  async writeAgentMemo(name: string, agent: string, memo: AgentMemo): Promise<void> {
    if ((await this.stateVersion(name)) === undefined) return;
    await this.writeJson(join(this.dir(name), 'agents', `${agent}.json`), agentMemoSchema.parse(memo));
  }

  async readConnectivity(name: string): Promise<LinkConnectivity | undefined> {
    return this.readJson(join(this.dir(name), 'agents', 'connectivity.json'), linkConnectivitySchema);
  }

  /** Written when heartbeats start and stop (contract/cluster-state.ts); not for a cluster that is gone. */
  async writeConnectivity(name: string, record: LinkConnectivity): Promise<void> {
    if ((await this.stateVersion(name)) === undefined) return;
    await this.writeJson(
      join(this.dir(name), 'agents', 'connectivity.json'),
      linkConnectivitySchema.parse(record),
      { durable: false },
    );
  }

  async remove(name: string): Promise<void> {
    await rm(this.dir(name), { recursive: true, force: true });
    await this.journal.append(name, 'removed');
  }

  private statusPath(name: string, agent: string): string {
    return join(this.dir(name), 'status', `${agent}.json`);
  }

  private secretPath(name: string, secret: string): string {
    return join(this.dir(name), 'secrets', `${secret}${SECRET_EXTENSIONS[secret] ?? '.json'}`);
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

  private async writeJson(path: string, value: unknown, opts?: AtomicWriteOptions): Promise<void> {
    await writeJsonAtomically(path, value, opts);
  }
}

/**
 * Harness of the compose tests: the tools they need (installed with apt-get when missing and we are
 * root), a Docker engine (started when none runs and we can), the compose command (v2 plugin, else
 * v1 `docker-compose`), commands run with their output kept for the error, and timed steps.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DOCKERD_LOG = '/var/log/arcfleet-dockerd.log';

/** A set-up or command failure of the compose tests, with what to do about it. */
export class ComposeTestError extends Error {
  constructor(
    message: string,
    readonly command?: string,
    readonly exitCode?: number | null,
  ) {
    super(message);
    this.name = 'ComposeTestError';
  }
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  /** Resolve with a non-zero exit instead of throwing. */
  readonly allowFail?: boolean;
}

const tail = (text: string, lines = 40): string => text.trimEnd().split('\n').slice(-lines).join('\n');

export function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const shown = [command, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new ComposeTestError(`${shown}: ${err.message}`, shown));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 || opts.allowFail) return resolve({ code, stdout, stderr });
      const how = signal
        ? `was killed by ${signal} (timeout ${opts.timeoutMs ?? 600_000} ms?)`
        : `exited ${code}`;
      reject(new ComposeTestError(`${shown} ${how}:\n${tail(stderr || stdout)}`, shown, code));
    });
  });
}

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Debian packages providing what the compose tests run, by command. */
const PACKAGES: Readonly<Record<string, string>> = {
  dockerd: 'docker.io',
  docker: 'docker.io',
  'docker-compose': 'docker-compose',
  debootstrap: 'debootstrap',
};

/** Installs the missing tools with apt-get when root; otherwise says exactly what to install. */
export async function ensureTools(): Promise<string[]> {
  process.env.PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;
  const composeV2 =
    has('docker') && spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0;
  // Not root, only the clients are a must: an engine may already run (docker group), and
  // debootstrap is needed only while the offline Debian image is missing (build-images.sh says so).
  const commands = isRoot() ? Object.keys(PACKAGES) : ['docker', 'docker-compose'];
  const needed = commands.filter((c) => !(c === 'docker-compose' && composeV2) && !has(c));
  const packages = [...new Set(needed.map((c) => PACKAGES[c] as string))];
  if (packages.length === 0) return [];
  const install = `apt-get install -y ${packages.join(' ')}`;
  if (!isRoot() || !has('apt-get'))
    throw new ComposeTestError(
      `the compose test needs ${needed.join(', ')}; install them with \`sudo ${install}\` (Debian/Ubuntu)`,
    );
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env });
  await run('apt-get', ['install', '-y', '-qq', ...packages], { env });
  return packages;
}

async function engineAnswers(): Promise<boolean> {
  return (await run('docker', ['info'], { allowFail: true, timeoutMs: 20_000 })).code === 0;
}

/**
 * 'running' when an engine already answers; otherwise starts dockerd in the background (root only)
 * and leaves it running for the next run, and says 'started'.
 */
export async function ensureEngine(timeoutMs = 60_000): Promise<'running' | 'started'> {
  if (await engineAnswers()) return 'running';
  const dockerd = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => existsSync(p));
  if (!isRoot() || !dockerd)
    throw new ComposeTestError(
      `no Docker engine answers \`docker info\` and this test cannot start one (${
        isRoot() ? 'dockerd is missing: apt-get install -y docker.io' : 'starting dockerd needs root'
      }); start it yourself, e.g. \`sudo dockerd >${DOCKERD_LOG} 2>&1 &\``,
    );
  const log = openSync(DOCKERD_LOG, 'a');
  const child = spawn(dockerd, [], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new ComposeTestError(`dockerd exited ${child.exitCode} at start; see ${DOCKERD_LOG}`);
    if (await engineAnswers()) return 'started';
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new ComposeTestError(`dockerd did not answer within ${timeoutMs / 1000} s; see ${DOCKERD_LOG}`);
}

/** `docker compose` (v2) when the plugin is there, else `docker-compose` (v1). */
export function composeCommand(): {
  readonly command: string;
  readonly prefix: string[];
  readonly version: 'v2' | 'v1';
} {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0)
    return { command: 'docker', prefix: ['compose'], version: 'v2' };
  if (has('docker-compose')) return { command: 'docker-compose', prefix: [], version: 'v1' };
  throw new ComposeTestError(
    'neither `docker compose` (v2) nor `docker-compose` (v1) is installed: apt-get install -y docker-compose',
  );
}

/** Docker 23+ CLIs hand `docker build` to buildx; without the plugin, the classic builder must be asked for. */
export function buildEnv(): NodeJS.ProcessEnv {
  const buildx = spawnSync('docker', ['buildx', 'version'], { stdio: 'ignore' }).status === 0;
  return buildx ? {} : { DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' };
}

/** Timed steps, printed as they end and as a table at the end. */
export class Steps {
  readonly done: { name: string; ms: number; ok: boolean }[] = [];

  async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    let ok = false;
    try {
      const out = await fn();
      ok = true;
      return out;
    } finally {
      const ms = performance.now() - t0;
      this.done.push({ name, ms, ok });
      console.log(`compose: ${ok ? '✓' : '✗'} ${name} (${(ms / 1000).toFixed(1)} s)`);
    }
  }

  table(): string {
    const width = Math.max(...this.done.map((s) => s.name.length), 4);
    const total = this.done.reduce((sum, s) => sum + s.ms, 0);
    return [
      ...this.done.map(
        (s) => `  ${s.ok ? '✓' : '✗'} ${s.name.padEnd(width)}  ${(s.ms / 1000).toFixed(1).padStart(6)} s`,
      ),
      `    ${'total'.padEnd(width)}  ${(total / 1000).toFixed(1).padStart(6)} s`,
    ].join('\n');
  }
}

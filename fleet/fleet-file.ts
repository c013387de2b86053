/**
 * `<dataDir>/fleet.json`: how CLI commands (and `arcfleet down`) find a running fleet, and the ONE
 * simulated-clock epoch every child shares.
 */
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { SimClock } from '../platform/clock.js';
import { writeJsonAtomically } from '../platform/atomic-file.js';

export const FLEET_FILE = 'fleet.json';

export const fleetFileSchema = z.object({
  version: z.literal(1),
  dataDir: z.string(),
  subscriptionId: z.string(),
  resourceGroup: z.string(),
  hubUrl: z.string(),
  /** Every hub replica's URL (replica 0's is hubUrl); absent in files of older fleets. */
  hubUrls: z.array(z.string()).optional(),
  /** The live page and /metrics over plain HTTP (absent in files of older fleets: hubUrl). */
  pageUrl: z.string().optional(),
  /** The fleet CA's certificate (PEM) the hub's HTTPS certificate is signed by; absent: plain HTTP. */
  caFile: z.string().optional(),
  natsUrl: z.string(),
  natsMonitorUrl: z.string(),
  /** Control API of the egress gateway (absent in fleets started before it existed). */
  egressApiUrl: z.string().optional(),
  /** Every shard's gateway (a sharded fleet); the first is `egressApiUrl`. */
  egressApiUrls: z.array(z.string()).optional(),
  /** The emulated apiserver (cluster side; absent in fleets started before it existed). */
  kubeApiserverUrl: z.string().optional(),
  timeScale: z.number().positive(),
  /** Real epoch ms at which simulated time equals real time (ARCFLEET_CLOCK_EPOCH_MS of every child). */
  epochMs: z.number().int(),
  clusterCount: z.number().int().min(0),
  detached: z.boolean(),
  launcherPid: z.number().int(),
  /** Service name → pid (process-group leader when detached). */
  pids: z.record(z.string(), z.number().int()),
  startedAt: z.string(),
  /** True while a foreground launcher restarts services that crash. */
  supervised: z.boolean().optional(),
  /** Per service: restarts by the supervisor and its last unasked exit. */
  supervision: z
    .record(
      z.string(),
      z.object({
        restarts: z.number().int().min(0),
        lastExit: z.string().optional(),
        lastExitAt: z.string().optional(),
        gaveUp: z.string().optional(),
      }),
    )
    .optional(),
});
export type FleetFile = z.infer<typeof fleetFileSchema>;

export function fleetFilePath(dataDir: string): string {
  return join(resolve(dataDir), FLEET_FILE);
}

export async function readFleetFile(dataDir: string): Promise<FleetFile | undefined> {
  let text: string;
  try {
    text = await readFile(fleetFilePath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = fleetFileSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

/** Writes of this process are queued by the atomic writer: the last call's content wins. */
export function writeFleetFile(file: FleetFile): Promise<void> {
  return writeJsonAtomically(fleetFilePath(file.dataDir), file);
}

export async function removeFleetFile(dataDir: string): Promise<void> {
  await rm(fleetFilePath(dataDir), { force: true });
}

export function clockOf(file: Pick<FleetFile, 'timeScale' | 'epochMs'> | undefined): SimClock {
  return file ? new SimClock(file.timeScale, file.epochMs) : new SimClock(1, Date.now());
}

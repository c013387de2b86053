/**
 * The Flux controllers' reconcile logs: what config-agent (standing in for source-controller and
 * kustomize-controller) writes on the cluster, what flux-logs-agent ships to the hub, and what the hub
 * serves per cluster and configuration. One entry is one line of a controller's log, in Flux's own
 * shape (zap JSON: `level`, `ts`, `msg`, the object reconciled, `error` when it failed), plus the
 * configuration the object belongs to (real agents find it from the `clusterconfig.azure.com/name`
 * label; the emulated controllers write it down).
 */
import { z } from 'zod';

/** The Flux controllers whose logs are shipped (the ones the emulated Flux runs). */
export const FLUX_CONTROLLERS = ['source-controller', 'kustomize-controller'] as const;
export type FluxController = (typeof FLUX_CONTROLLERS)[number];

/** Entries in one `flux-logs` message: well under the message limit at the longest lines allowed. */
export const FLUX_LOGS_MAX_ENTRIES = 100;

/** Longest message or error text kept in one entry (longer text is cut by the writer). */
export const FLUX_LOG_TEXT_MAX = 2048;

/** Entries the hub keeps per cluster and configuration (the oldest go first). */
export const FLUX_LOGS_KEPT_PER_CONFIGURATION = 1000;

const name = z.string().min(1).max(253);

export const fluxLogEntrySchema = z.strictObject({
  /** Per cluster, increasing by one per line written: the shipping cursor. */
  seq: z.int().min(1),
  ts: z.iso.datetime({ offset: true }),
  level: z.enum(['info', 'error']),
  controller: z.enum(FLUX_CONTROLLERS),
  configuration: name,
  kind: z.enum(['GitRepository', 'Kustomization']),
  namespace: name,
  name,
  msg: z.string().min(1).max(FLUX_LOG_TEXT_MAX),
  error: z.string().max(FLUX_LOG_TEXT_MAX).optional(),
  revision: z.string().max(512).optional(),
});
export type FluxLogEntry = z.infer<typeof fluxLogEntrySchema>;

/** A line as a controller writes it: the log numbers it (`seq`) when it is appended. */
export type FluxLogLine = Omit<FluxLogEntry, 'seq'>;

/** Truncates text to what an entry may carry. */
export function logText(text: string): string {
  return text.length <= FLUX_LOG_TEXT_MAX ? text : `${text.slice(0, FLUX_LOG_TEXT_MAX - 1)}…`;
}

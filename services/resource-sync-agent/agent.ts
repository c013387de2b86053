/**
 * Why this file exists: the agent's name goes into everything resource-sync-agent sends or stores
 * (heartbeats in resource-sync.ts, reports in metadata-report.ts, the memo in first-sync.ts); it
 * lives here so those files need not import one another.
 */
export const AGENT = 'resource-sync-agent' as const;

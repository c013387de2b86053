/**
 * resource-sync-agent process: one instance per cluster in the cluster store (see resource-sync.ts).
 */
import { runAgentService } from '../../agent-runtime/agent-service.js';
import { AGENT, resourceSyncFactory } from './resource-sync.js';

runAgentService(AGENT, ({ clock, config }) => resourceSyncFactory({ clock, timings: config.timings }));

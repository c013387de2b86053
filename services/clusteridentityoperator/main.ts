/**
 * clusteridentityoperator process: one instance per cluster in the cluster store (see identity-operator.ts).
 */
import { runAgentService } from '../../agent-runtime/agent-service.js';
import { AGENT, identityOperatorFactory } from './identity-operator.js';

runAgentService(AGENT, ({ clock, config }) => identityOperatorFactory({ clock, timings: config.timings }));

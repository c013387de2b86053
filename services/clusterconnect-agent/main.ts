/**
 * clusterconnect-agent process: one instance per cluster in the cluster store (see connect-agent.ts).
 */
import { runAgentService } from '../../agent-runtime/agent-service.js';
import { ENV, readString } from '../../platform/settings.js';
import { AGENT, connectAgentFactory } from './connect-agent.js';

const proxyUrl = readString(process.env, ENV.kubeAadProxyUrl, '');

runAgentService(AGENT, ({ clock }) =>
  connectAgentFactory({
    clock,
    proxyUrl: proxyUrl === '' ? undefined : proxyUrl.replace(/\/$/, ''),
  }),
);

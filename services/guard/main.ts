/**
 * guard process: one instance per cluster with Azure RBAC on, pulling the cluster's role assignments
 * from the hub over its own outbound link (the shared configuration pull, `config-pull`, nudged on every
 * role assignment write), and one HTTP listener on the cluster side for all of them (guard.ts).
 */
import { Counter } from 'prom-client';
import { runAgentService } from '../../agent-runtime/agent-service.js';
import { listenClusterSide } from '../../agent-runtime/cluster-listener.js';
import { DEFAULT_CONFIG_PULL_INTERVAL_MS, configSyncFactory } from '../../agent-runtime/config-sync.js';
import { ENV, readDuration, readNumber, readString } from '../../platform/settings.js';
import { AGENT, Guard } from './guard.js';

runAgentService(AGENT, ({ clock, logger, registry }) => {
  const reviews = new Counter({
    name: 'arcfleet_guard_reviews_total',
    help: 'SubjectAccessReviews guard answered, by outcome (allowed, denied, no-policy, bad-request)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of ['allowed', 'denied']) reviews.inc({ outcome }, 0);
  const guard = new Guard((outcome) => reviews.inc({ outcome }));
  const port = readNumber(process.env, ENV.guardPort, 0, { min: 0, max: 65_535, integer: true });
  const host = readString(process.env, ENV.guardHost, '127.0.0.1');
  listenClusterSide({ agent: AGENT, port, host, logger }, (req, res) => guard.handle(req, res));
  const sync = {
    agent: AGENT,
    clock,
    pullIntervalMs: readDuration(process.env, ENV.configPullInterval, DEFAULT_CONFIG_PULL_INTERVAL_MS),
  };
  // A pull answered after the instance closed is dropped by the config sync (config-sync.ts), so a
  // stopped cluster's grants do not come back.
  const factory = configSyncFactory(sync, (ctx) => ({
    reconcile: (desired) => {
      guard.set(ctx.clusterName, desired.roleAssignments);
      // Nothing to report: the assignments are the hub's; guard only enforces them.
      return Promise.resolve({});
    },
  }));
  return (ctx, snapshot) => {
    const instance = factory(ctx, snapshot);
    return {
      update: (next, changes) => instance.update(next, changes),
      outboxDepth: () => instance.outboxDepth?.() ?? 0,
      close: async (reason) => {
        guard.forget(ctx.clusterName);
        await instance.close(reason);
      },
    };
  };
});

/**
 * What the compose failover test reads from inside the containers (none of it is published): which
 * hub replica leads and how many clusters it has turned Offline (its /metrics), and which broker node
 * leads JetStream's meta group (its monitor's /jsz). Each through `docker exec` of the image's own
 * tools: node in the arcfleet image, wget in the nats images.
 */
import { run } from './docker.js';

export interface HubReplicaState {
  readonly container: string;
  readonly leader: boolean;
  /** `arcfleet_hub_status_transitions_total{to="Offline"}`, summed over `from`. */
  readonly offlineTransitions: number;
}

const METRICS = "fetch('http://127.0.0.1:8081/metrics').then((r) => r.text()).then((t) => console.log(t))";

/** A counter or gauge summed over the series whose labels contain `labels` (e.g. `to="Offline"`). */
export function metricSum(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export async function hubReplicaState(container: string, env: NodeJS.ProcessEnv): Promise<HubReplicaState> {
  const text = (await run('docker', ['exec', container, 'node', '-e', METRICS], { env, timeoutMs: 20_000 }))
    .stdout;
  return {
    container,
    leader: metricSum(text, 'arcfleet_hub_leader') === 1,
    offlineTransitions: metricSum(text, 'arcfleet_hub_status_transitions_total', 'to="Offline"'),
  };
}

/** The server name of the node leading JetStream's meta group, asked of `container`'s monitor. */
export async function jetStreamMetaLeader(container: string, env: NodeJS.ProcessEnv): Promise<string> {
  const out = await run('docker', ['exec', container, 'wget', '-q', '-O', '-', 'http://127.0.0.1:8222/jsz'], {
    env,
    timeoutMs: 20_000,
  });
  const leader = (JSON.parse(out.stdout) as { meta_cluster?: { leader?: string } }).meta_cluster?.leader;
  if (!leader)
    throw new Error(`no JetStream meta leader in ${container}'s /jsz: ${out.stdout.slice(0, 300)}`);
  return leader;
}

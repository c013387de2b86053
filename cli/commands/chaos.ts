/**
 * `arcfleet chaos ...`: drives the egress gateway's control API of the running fleet (its URL is in
 * `<dataDir>/fleet.json`, or --gateway-url). Target parsing is pure and unit-tested.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { AGENT_NAMES, ArcError, ENDPOINT_CLASSES, ERROR_CODES, parseSelector } from '../../contract/index.js';
import { parseDuration } from '../../platform/duration.js';
import { DEFAULT_DATA_DIR } from '../../fleet/index.js';
import { chaosRunCommand } from '../scenario/command.js';
import { gatewayReach } from '../scenario/scenario.js';
import { callGateways, gatewayUrls } from '../../fleet/clients/egress-gateway.js';

export interface TargetFlags {
  readonly percent?: number;
  readonly seed?: number;
  readonly selector?: string;
  readonly all?: boolean;
}

export type ChaosTargets =
  | { clusters: string[] }
  | { selector: Record<string, string> }
  | { percent: number; seed: number }
  | { all: true };

function usage(message: string): ArcError {
  return new ArcError(ERROR_CODES.InvalidParameter, message, { status: 400 });
}

/** Exactly one of: cluster names, --percent, --selector, --all (restore only). */
export function parseTargets(clusters: readonly string[], f: TargetFlags, allowAll = false): ChaosTargets {
  const given = [
    clusters.length > 0,
    f.percent !== undefined,
    f.selector !== undefined,
    f.all === true,
  ].filter(Boolean).length;
  if (given !== 1)
    throw usage(
      `give exactly one target: cluster names, --percent P, --selector k=v${allowAll ? ', or --all' : ''}`,
    );
  if (f.all) {
    if (!allowAll) throw usage('--all is only for restore');
    return { all: true };
  }
  if (f.percent !== undefined) return { percent: f.percent, seed: f.seed ?? 1 };
  if (f.selector !== undefined) {
    const selector = parseSelector(f.selector);
    if (typeof selector === 'string')
      throw usage(
        `--selector ${f.selector}: ${selector}; expected location|distribution|infrastructure=value`,
      );
    return { selector: selector as Record<string, string> };
  }
  return { clusters: [...clusters] };
}

function durationArg(value: string): string {
  try {
    if (parseDuration(value) <= 0) throw new Error('not positive');
  } catch {
    throw new InvalidArgumentError('expected a duration such as 500ms, 30s, 5m');
  }
  return value;
}

function percentArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError('expected 0..100');
  return n;
}

function intArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number >= 0');
  return n;
}

interface CommonFlags extends TargetFlags {
  readonly dataDir: string;
  readonly gatewayUrl?: string;
  readonly for?: string;
  readonly endpoint?: string[];
  readonly agent?: string[];
}

/** The body fields naming what a rule reaches (`--endpoint`, `--agent`); none: the whole cluster. */
export function reachFields(o: { endpoint?: readonly string[]; agent?: readonly string[] }): {
  endpoints?: string[];
  agents?: string[];
} {
  return gatewayReach({ endpoints: o.endpoint, agents: o.agent });
}

interface RuleView {
  cluster: string;
  agent?: string;
  mode: { kind: string };
  effective: { kind: string };
  until?: string;
  connections: number;
}

export function formatRules(rules: readonly RuleView[]): string {
  if (rules.length === 0) return 'no rules: every cluster is open';
  const rows = rules.map((r) => [
    r.cluster,
    r.agent ?? '*',
    r.mode.kind,
    r.effective.kind,
    r.until ?? '-',
    String(r.connections),
  ]);
  const head = ['CLUSTER', 'AGENT', 'MODE', 'NOW', 'UNTIL', 'CONNECTIONS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  return [head, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function targetOptions(cmd: Command): Command {
  return cmd
    .argument('[clusters...]', 'cluster names')
    .addOption(
      new Option(
        '--endpoint <class...>',
        'only what the agents reach at these endpoint classes (default: everything)',
      ).choices([...ENDPOINT_CLASSES]),
    )
    .addOption(
      new Option('--agent <name...>', 'only these agents\u2019 connections').choices([...AGENT_NAMES]),
    )
    .option('--percent <p>', 'a seeded random percentage of the fleet', percentArg)
    .option('--seed <n>', 'seed of --percent (same seed, same clusters)', intArg)
    .option('--selector <k=v>', 'label selector: location, distribution, infrastructure (comma-separated)')
    .option('--data-dir <dir>', 'fleet data directory', DEFAULT_DATA_DIR)
    .option(
      '--gateway-url <url>',
      'egress gateway control API; several (one per shard) comma-separated (default: from <data-dir>/fleet.json)',
    );
}

function summary(action: string, res: unknown): string {
  const { clusters = [], agents } = res as { clusters?: string[]; agents?: string[] };
  const shown = clusters.length > 10 ? `${clusters.slice(0, 10).join(', ')}, ...` : clusters.join(', ');
  const only = agents === undefined ? '' : ` (only ${agents.join(', ')})`;
  return `${action}${only}: ${clusters.length} cluster(s)${shown ? `: ${shown}` : ''}`;
}

/** Adds `chaos cut|restore|latency|bandwidth|flap|status|run` to the program. */
export function registerChaosCommands(
  program: Command,
  print: (text: string) => void,
  setExitCode: (code: number) => void,
): void {
  const chaos = program
    .command('chaos')
    .description('cut, slow or flap cluster egress at the egress gateway');

  targetOptions(chaos.command('cut'))
    .description('cut the targets\u2019 egress (drop: blackhole; reject: connections reset)')
    .addOption(new Option('--mode <mode>', 'drop or reject').choices(['drop', 'reject']).default('drop'))
    .option('--for <duration>', 'restore by itself after this long (simulated time)', durationArg)
    .action(async (clusters: string[], o: CommonFlags & { mode: string }) => {
      const res = await callGateways(await gatewayUrls(o), 'POST', '/v1/chaos', {
        action: 'cut',
        mode: o.mode,
        targets: parseTargets(clusters, o),
        ...reachFields(o),
        ...(o.for === undefined ? {} : { for: o.for }),
      });
      print(summary(`cut (${o.mode})`, res));
    });

  targetOptions(chaos.command('restore'))
    .description('open the targets\u2019 egress again')
    .option('--all', 'every cluster with a rule')
    .action(async (clusters: string[], o: CommonFlags) => {
      const res = await callGateways(await gatewayUrls(o), 'POST', '/v1/chaos', {
        action: 'restore',
        targets: parseTargets(clusters, o, true),
        ...reachFields(o),
      });
      print(summary('restored', res));
    });

  targetOptions(chaos.command('latency'))
    .description('add latency (and jitter) to the targets\u2019 traffic')
    .requiredOption('--latency <ms>', 'added delay each way (real ms)', intArg)
    .option('--jitter <ms>', 'random extra delay up to this (real ms)', intArg)
    .option('--for <duration>', 'restore by itself after this long (simulated time)', durationArg)
    .action(async (clusters: string[], o: CommonFlags & { latency: number; jitter?: number }) => {
      const res = await callGateways(await gatewayUrls(o), 'POST', '/v1/chaos', {
        action: 'latency',
        latencyMs: o.latency,
        jitterMs: o.jitter ?? 0,
        targets: parseTargets(clusters, o),
        ...reachFields(o),
        ...(o.for === undefined ? {} : { for: o.for }),
      });
      print(summary(`latency ${o.latency} ms`, res));
    });

  targetOptions(chaos.command('bandwidth'))
    .description('limit the targets\u2019 throughput (bytes per second, each direction)')
    .requiredOption('--bytes-per-second <n>', 'the limit', intArg)
    .option('--for <duration>', 'restore by itself after this long (simulated time)', durationArg)
    .action(async (clusters: string[], o: CommonFlags & { bytesPerSecond: number }) => {
      if (o.bytesPerSecond < 1) throw usage('--bytes-per-second must be at least 1');
      const res = await callGateways(await gatewayUrls(o), 'POST', '/v1/chaos', {
        action: 'bandwidth',
        bytesPerSecond: o.bytesPerSecond,
        targets: parseTargets(clusters, o),
        ...reachFields(o),
        ...(o.for === undefined ? {} : { for: o.for }),
      });
      print(summary(`bandwidth ${o.bytesPerSecond} B/s`, res));
    });

  targetOptions(chaos.command('flap'))
    .description('alternate cut and open (periods in simulated time)')
    .requiredOption('--cut <duration>', 'how long each cut lasts', durationArg)
    .requiredOption('--open <duration>', 'how long each open period lasts', durationArg)
    .addOption(
      new Option('--mode <mode>', 'drop or reject while cut').choices(['drop', 'reject']).default('drop'),
    )
    .option('--for <duration>', 'stop flapping after this long (simulated time)', durationArg)
    .action(async (clusters: string[], o: CommonFlags & { cut: string; open: string; mode: string }) => {
      const res = await callGateways(await gatewayUrls(o), 'POST', '/v1/chaos', {
        action: 'flap',
        mode: o.mode,
        cut: o.cut,
        open: o.open,
        targets: parseTargets(clusters, o),
        ...reachFields(o),
        ...(o.for === undefined ? {} : { for: o.for }),
      });
      print(summary(`flapping (${o.cut} cut / ${o.open} open)`, res));
    });

  chaos
    .command('run')
    .argument('<file>', 'scenario YAML (examples: deploy/scenarios/)')
    .description(
      'run a chaos scenario against the running fleet, or start its own; exit 1 with a report when an expectation fails',
    )
    .option('--data-dir <dir>', 'fleet data directory', DEFAULT_DATA_DIR)
    .option('--report <file>', 'also write the report as JSON')
    .option('--keep', 'leave a fleet the scenario started running', false)
    .action(async (file: string, o: { dataDir: string; report?: string; keep: boolean }) => {
      setExitCode(
        await chaosRunCommand(
          file,
          { dataDir: o.dataDir, keep: o.keep, ...(o.report === undefined ? {} : { report: o.report }) },
          print,
        ),
      );
    });

  chaos
    .command('status')
    .description('the gateway\u2019s rules: mode, what applies now, until when, open connections')
    .option('--data-dir <dir>', 'fleet data directory', DEFAULT_DATA_DIR)
    .option(
      '--gateway-url <url>',
      'egress gateway control API; several (one per shard) comma-separated (default: from <data-dir>/fleet.json)',
    )
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['json', 'table']).default('table'),
    )
    .action(async (o: { dataDir: string; gatewayUrl?: string; output: string }) => {
      const res = (await callGateways(await gatewayUrls(o), 'GET', '/v1/rules')) as { value: RuleView[] };
      print(o.output === 'json' ? JSON.stringify(res.value, null, 2) : formatRules(res.value));
    });
}

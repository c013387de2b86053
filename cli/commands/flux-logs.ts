/**
 * `arcfleet cluster flux-logs <name>`: the Flux controllers' reconcile logs of a cluster, as its
 * flux-logs-agent shipped them to the hub (one line per entry, or JSON), optionally of one
 * configuration, errors only, the newest N.
 */
import type { Command } from 'commander';
import type { FluxLogEntry } from '../../contract/index.js';
import { loadContext, type FleetContext } from '../context.js';
import { fleetOptions, intArg, outputOption, parseOutput, type GlobalOpts, type Print } from './options.js';

export interface FluxLogsQuery {
  readonly configuration?: string;
  readonly tail: number;
  readonly errors: boolean;
  readonly output: 'json' | 'table';
}

/** One entry as a line: time, level, controller, object, message, and the error when there is one. */
export function formatFluxLogLine(e: FluxLogEntry): string {
  const level = e.level.toUpperCase().padEnd(5);
  const error = e.error === undefined ? '' : `: ${e.error}`;
  return `${e.ts} ${level} ${e.controller} ${e.kind}/${e.namespace}/${e.name} [${e.configuration}] ${e.msg}${error}`;
}

export async function fluxLogsCommand(ctx: FleetContext, name: string, q: FluxLogsQuery): Promise<string> {
  const entries = await ctx.client.fluxLogs(await ctx.ref(name), {
    ...(q.configuration === undefined ? {} : { configuration: q.configuration }),
    tail: q.tail,
    errorsOnly: q.errors,
  });
  if (q.output === 'json') return JSON.stringify(entries, null, 2);
  if (entries.length === 0) return `${name}: no Flux log entries${q.errors ? ' at level error' : ''}`;
  return entries.map(formatFluxLogLine).join('\n');
}

export function registerFluxLogsCommand(cluster: Command, print: Print): void {
  outputOption(fleetOptions(cluster.command('flux-logs').argument('<name>')), 'table')
    .option('--configuration <name>', 'one Flux configuration (default: all of the cluster’s)')
    .option('--tail <n>', 'the newest n entries', intArg(1, 5000), 100)
    .option('--errors', 'only entries at level error')
    .description('show the Flux controllers’ reconcile logs flux-logs-agent shipped')
    .action(
      async (name: string, o: GlobalOpts & { configuration?: string; tail: number; errors?: boolean }) => {
        print(
          await fluxLogsCommand(await loadContext(o), name, {
            ...(o.configuration === undefined ? {} : { configuration: o.configuration }),
            tail: o.tail,
            errors: o.errors === true,
            output: parseOutput(o.output ?? 'table'),
          }),
        );
      },
    );
}

/**
 * Why this file exists: `arcfleet move` wired into commander, out of main.ts. The procedure itself is
 * move.ts, which is already at the size limit, so its wiring sits beside it here.
 */
import type { Command } from 'commander';
import { loadContext } from '../context.js';
import { moveCluster } from './move.js';
import {
  fleetOptions,
  outputOption,
  positiveNumber,
  type GlobalOpts,
  type Print,
  type SetExitCode,
} from './options.js';

/** Adds `move` to the program; exit code 1 when the LIST after the move differs from before. */
export function registerMoveCommand(program: Command, print: Print, setExitCode: SetExitCode): void {
  outputOption(fleetOptions(program.command('move').argument('<name>')), 'table')
    .requiredOption('--to <location>', 'the new location (region)')
    .option(
      '--protected-settings <file>',
      'JSON {extensions:{name:{k:v}}, fluxConfigurations:{...}} kept from the original requests',
    )
    .option('--timeout <seconds>', 'longest wait of each step', positiveNumber, 120)
    .description('move a connected cluster to another region (the documented procedure, step by step)')
    .action(
      async (name: string, o: GlobalOpts & { to: string; protectedSettings?: string; timeout: number }) => {
        const report = await moveCluster(await loadContext(o), name, {
          to: o.to,
          protectedSettingsFile: o.protectedSettings,
          timeoutMs: o.timeout * 1000,
          log: o.output === 'json' ? undefined : (line) => print(line),
        });
        if (o.output === 'json') print(JSON.stringify(report, null, 2));
        else
          print(
            report.equal
              ? `${report.cluster}: moved ${report.from} → ${report.to}; LIST after re-creating equals LIST before (${Object.values(report.before).flat().length} resources; kept in ${report.savedTo})`
              : `${report.cluster}: moved ${report.from} → ${report.to}, but the LISTs differ:\n  ${report.differences.join('\n  ')}`,
          );
        if (!report.equal) setExitCode(1);
      },
    );
}

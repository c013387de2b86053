/**
 * Why this file exists: the option parsers and option sets more than one command group uses, once
 * `main.ts` stopped wiring every command itself; each group's `register...` function (next to its
 * command module) takes them from here.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ArcError, ERROR_CODES } from '../../contract/index.js';
import { DEFAULT_DATA_DIR } from '../../fleet/index.js';
import type { ContextOptions } from '../context.js';

/** Writes one line of a command's output. */
export type Print = (text: string) => void;
/** Sets the process exit code of the command. */
export type SetExitCode = (code: number) => void;

export function intArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number ${min}..${max}`);
    return n;
  };
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0');
  return n;
}

export interface GlobalOpts extends ContextOptions {
  readonly output?: string;
}

export function fleetOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'fleet data directory', DEFAULT_DATA_DIR)
    .option('--hub-url <url>', 'hub URL (default: from <data-dir>/fleet.json)')
    .option('--subscription <id>', 'subscription id (default: the fleet\u2019s)')
    .option('--resource-group <rg>', 'resource group (default: the fleet\u2019s)');
}

export function outputOption(cmd: Command, defaultFormat: 'json' | 'table'): Command {
  return cmd.addOption(
    new Option('-o, --output <format>', 'output format').choices(['json', 'table']).default(defaultFormat),
  );
}

export type OutputFormat = 'json' | 'table';

export function parseOutput(value: string): OutputFormat {
  if (value === 'json' || value === 'table') return value;
  throw new ArcError(ERROR_CODES.InvalidParameter, `-o ${value}: expected json or table`, {
    status: 400,
    target: '-o',
  });
}

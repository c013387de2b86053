#!/usr/bin/env node
/**
 * `arcfleet`: the table of contents. Each command group registers itself from beside its behaviour
 * in commands/; the order below is the order of `arcfleet --help`.
 */
import { Command } from 'commander';
import { isArcError } from '../contract/index.js';
import { registerBrokerCommands } from './commands/broker.js';
import { registerChaosCommands } from './commands/chaos.js';
import { registerClusterCommands } from './commands/cluster.js';
import { registerLifecycleCommands } from './commands/lifecycle.js';
import { registerMoveCommand } from './commands/move-command.js';
import { registerProxyCommand } from './commands/proxy.js';
import { registerRoleCommands } from './commands/role-assignment.js';
import { registerSnapshotCommands } from './commands/snapshot.js';
import { registerTokenCommand } from './commands/token.js';
import { registerTrustCommands } from './commands/trust.js';

let exitCode = 0;
const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const setExitCode = (code: number): void => {
  exitCode = code;
};

export function buildProgram(): Command {
  const program = new Command('arcfleet')
    .description('Emulated Azure Arc-enabled Kubernetes fleet: launcher and az connectedk8s-like commands')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) });

  // up, init, down, ps
  registerLifecycleCommands(program, print, setExitCode);
  // list, show, connect, delete, cluster upgrade|scale|stop-agents|start-agents|fault, kubeconfig
  registerClusterCommands(program, print);
  registerProxyCommand(program, print);
  registerTokenCommand(program, print);
  // role assignment create|list|delete (Azure RBAC on a cluster)
  registerRoleCommands(program, print);
  registerMoveCommand(program, print, setExitCode);
  registerSnapshotCommands(program, print);
  // chaos cut|restore|latency|bandwidth|flap|status|run
  registerChaosCommands(program, print, setExitCode);
  // broker init (compose's one-shot before nats-server)
  registerBrokerCommands(program, print);
  registerTrustCommands(program, print);

  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<number> {
  exitCode = 0;
  try {
    await buildProgram().parseAsync([...argv]);
    return exitCode;
  } catch (err) {
    if (isArcError(err)) process.stderr.write(`arcfleet: ${err.code}: ${err.message}\n`);
    else process.stderr.write(`arcfleet: error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** Exits once stdout and stderr are flushed (a pipe may hold more than its buffer: `list -o json | jq`). */
function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

// Exit explicitly: idle HTTP keep-alive sockets must not hold a finished command open.
main().then(exitAfterFlush, (err: unknown) => {
  process.stderr.write(`arcfleet: error: ${String(err)}\n`);
  exitAfterFlush(1);
});

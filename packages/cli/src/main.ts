import { Command, CommanderError } from 'commander';
import { FabricError } from '@fabric/protocol';
import type { GlobalOptions } from './context.js';
import { printable } from './format.js';
import { inviteCommand, loginCommand, pairCommand } from './commands/accounts.js';
import { deviceCommand, serveCommand, upCommand } from './commands/daemons.js';
import { devicesCommand, statusCommand } from './commands/fleet.js';
import { fuelCommand } from './commands/fuel.js';
import { agentCommand } from './commands/agent.js';
import { ledgerCommand } from './commands/ledger.js';
import { vaultCommand } from './commands/vault.js';
import { isVaultError } from '@fabric/vault';
import { sessionCommand } from './commands/session.js';
import type { Out } from './commands/shared.js';

const VERSION = '0.1.0';

/**
 * Run the `optimal` command line. Resolves with the process exit code:
 * 0 ok, 1 a failure (printed as one line `optimal: <code>: <message>`),
 * 2 a usage error, or a followed session's own exit code.
 */
export async function main(argv: string[], out: Out = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
}): Promise<number> {
  process.umask(0o077); // every file this process creates is private to its user
  let exitCode = 0;
  const setExit = (code: number) => { exitCode = code; };
  const program = new Command('optimal')
    .description('Fabric: run AI coding-agent sessions on machines you own')
    .version(VERSION)
    .option('--data <dir>', 'data directory (env OPTIMAL_DATA, default ~/.optimal)')
    .option('--server <url>', 'control plane URL (env OPTIMAL_SERVER, default from your sign-in or http://127.0.0.1:7300)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: out.stdout, writeErr: out.stderr });
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();

  for (const cmd of [
    upCommand(globals, out),
    serveCommand(globals, out),
    deviceCommand(globals, out, setExit),
    pairCommand(globals, out),
    loginCommand(globals, out),
    inviteCommand(globals, out),
    statusCommand(globals, out),
    devicesCommand(globals, out),
    sessionCommand(globals, out, setExit),
    fuelCommand(globals, out),
    vaultCommand(globals, out),
    agentCommand(globals, out),
    ledgerCommand(globals, out, setExit),
  ]) {
    program.addCommand(cmd);
  }
  // Sub-commands inherit output, error behaviour and the global options' position freedom.
  const configure = (c: Command) => {
    c.exitOverride().configureOutput({ writeOut: out.stdout, writeErr: out.stderr }).showHelpAfterError('(run with --help for usage)');
    c.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  program.enablePositionalOptions(false);

  try {
    await program.parseAsync(hoistGlobals(argv));
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof FabricError || isVaultError(err)) {
      out.stderr(`optimal: ${err.code}: ${printable(err.message)}\n`);
      return 1;
    }
    throw err;
  }
}

/**
 * Let `--data` and `--server` appear anywhere (`optimal pair --data B`), as
 * the README writes them, by moving them in front of the sub-command.
 */
function hoistGlobals(argv: string[]): string[] {
  const [node = 'node', script = 'optimal', ...rest] = argv;
  const globals: string[] = [];
  const others: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--') { others.push(...rest.slice(i)); break; }
    if ((a === '--data' || a === '--server') && i + 1 < rest.length) {
      globals.push(a, rest[++i]!);
    } else if (a.startsWith('--data=') || a.startsWith('--server=')) {
      globals.push(a);
    } else {
      others.push(a);
    }
  }
  return [node, script, ...globals, ...others];
}

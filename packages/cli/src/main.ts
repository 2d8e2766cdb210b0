import { Command, CommanderError } from 'commander';
import { FabricError } from '@fabric/protocol';
import { dataDir, type GlobalOptions } from './context.js';
import { lockDataDir } from '@fabric/node';
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

/** Commands that run a server or a device on the data directory: one of them at a time per directory. */
const DAEMONS = new Set(['up', 'serve', 'device']);

/**
 * Run the `optimal` command line. Resolves with the process exit code:
 * 0 ok, 1 a failure (printed as one line `optimal: <code>: <message>`),
 * 2 a usage error (one line `optimal: usage: <what>; see "optimal … --help"`),
 * 70 a bug (one line; its stack only with FABRIC_DEBUG=1), or a followed
 * session's own exit code.
 */
export async function main(
  argv: string[],
  out: Out = {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  },
): Promise<number> {
  process.umask(0o077); // every file this process creates is private to its user
  let exitCode = 0;
  const setExit = (code: number) => {
    exitCode = code;
  };
  // Commander's own errors (unknown option, missing argument) are printed by the catch below as one line.
  let failed: Command | null = null;
  const output = (c: Command) => ({
    writeOut: (s: string) => {
      out.stdout(s);
    },
    writeErr: (s: string) => {
      out.stderr(s);
    },
    outputError: () => {
      failed = c;
    },
  });
  const program = new Command('optimal')
    .description('Fabric: run AI coding-agent sessions on machines you own')
    .version(VERSION)
    .option('--data <dir>', 'data directory (env OPTIMAL_DATA, default ~/.optimal)')
    .option(
      '--server <url>',
      'control plane URL (env OPTIMAL_SERVER, default from your sign-in or http://127.0.0.1:7300)',
    )
    .exitOverride();
  program.configureOutput(output(program));
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
    c.exitOverride().configureOutput(output(c));
    c.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  program.enablePositionalOptions(false);
  // Before a daemon touches anything in its data directory, it must be the only one there.
  program.hook('preAction', (_program, action) => {
    if (DAEMONS.has(action.name()) && action.parent === program) lockDataDir(dataDir(globals()));
  });

  try {
    await program.parseAsync(hoistGlobals(argv));
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return 0;
      if (err.exitCode === 0) return 0;
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by a Commander callback
      out.stderr(`optimal: usage: ${usageLine(err.message, failed ?? program)}\n`);
      return 2;
    }
    const known = expected(err);
    if (known) {
      out.stderr(`optimal: ${known.code}: ${printable(known.message)}\n`);
      return 1;
    }
    const debug = process.env.FABRIC_DEBUG === '1';
    const what = err instanceof Error ? err.message : String(err);
    out.stderr(
      `optimal: internal: ${printable(what.split('\n')[0] ?? '')}; ${debug ? 'stack below' : 'run again with FABRIC_DEBUG=1 for details'}\n`,
    );
    if (debug && err instanceof Error && err.stack) out.stderr(`${err.stack}\n`);
    return 70;
  }
}

/** An expected failure, with its code: a FabricError, a vault error, or a file-system error about a path a person named. */
function expected(err: unknown): { code: string; message: string } | null {
  if (err instanceof FabricError || isVaultError(err)) return err;
  const e = err as NodeJS.ErrnoException | null;
  const path = typeof e?.path === 'string' ? e.path : null;
  if (!path) return null;
  if (e?.code === 'ENOENT') return { code: 'not_found', message: `no such file or directory: ${path}` };
  if (e?.code === 'EISDIR') return { code: 'bad_request', message: `${path} is a directory, not a file` };
  if (e?.code === 'ENOTDIR') return { code: 'bad_request', message: `${path} is not a directory` };
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return { code: 'forbidden', message: `permission denied: ${path}` };
  return null;
}

/**
 * Commander's message (`error: unknown option '--foo'\n(Did you mean --force?)`)
 * as one clause, keeping its suggestion, plus where the usage is.
 */
function usageLine(message: string, cmd: Command): string {
  const text = message
    .replace(/^error:\s*/i, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.replace(/^\(Did you mean/, '(did you mean'))
    .join(' ');
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return `${text}; see "${names.join(' ')} --help"`;
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
    if (a === '--') {
      others.push(...rest.slice(i));
      break;
    }
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

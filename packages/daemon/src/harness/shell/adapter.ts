import { FabricError, splitCommandLine, type SessionStartPayload } from '@fabric/protocol';
import { DAEMON_VERSION } from '../version.js';
import type { HarnessAdapter, PlanContext, SpawnPlan } from './types.js';

/**
 * Commands a new device allows when started without `--allow`: only programs
 * that neither run code nor read a file's content through their arguments
 * (checked against GTFOBins), because whoever may start a session chooses
 * the arguments.
 *
 * Kept: `echo`, `pwd`, `uname`, `sleep`, `whoami`, `true`, `false` (print
 * fixed facts or nothing; no option names a file or a program); `ls` (names
 * and metadata of directory entries, never their content; it runs nothing).
 *
 * Left out, and why:
 * - `git`: `-c alias.x=!cmd`, `-c core.pager=`, `--exec-path`, hooks and
 *   `core.sshCommand` run any command; `git show`/`diff --no-index` read any file.
 * - `cat`, `head`, `tail`: print any file the daemon's user can read.
 * - `wc`: `--files0-from=FILE` echoes FILE's content in its errors.
 * - `date`: `-f FILE` echoes every line of FILE in its errors.
 * - never add `env`, `xargs`, `find` (`-exec`), `awk`, `sed` (`e`), `tar`
 *   (`--to-command`, `--checkpoint-action`), `node`, `python`, `sh`: each runs code.
 *
 * `--allow` may add any of these; a session then has that program's full
 * power, limited only by its sandbox.
 */
export const DEFAULT_ALLOWLIST = ['echo', 'ls', 'pwd', 'uname', 'sleep', 'whoami', 'true', 'false'] as const;

/**
 * The `shell` harness: runs one allowlisted program as argv, never through a
 * shell, so `echo hi; rm -rf /` prints `hi; rm -rf /`. The prompt is split
 * with POSIX quoting rules; argv[0] must be on the device's allowlist exactly.
 */
export const shellHarness: HarnessAdapter = {
  name: 'shell',

  async detect() {
    return { name: 'shell', version: DAEMON_VERSION };
  },

  plan(start: SessionStartPayload, ctx: PlanContext): SpawnPlan {
    let argv: string[];
    try {
      argv = splitCommandLine(start.prompt);
    } catch (err) {
      throw new FabricError('bad_request', `command: ${(err as Error).message}`);
    }
    const [command, ...args] = argv;
    if (!command) throw new FabricError('bad_request', 'command is empty');
    if (!ctx.allowlist.includes(command)) {
      throw new FabricError(
        'command_not_allowed',
        `"${command.slice(0, 64)}" is not on this device's allowlist (${ctx.allowlist.join(', ')}); restart the device with --allow to permit it`,
      );
    }
    return { command, args, env: { ...ctx.baseEnv, ...ctx.credentials } };
  },
};

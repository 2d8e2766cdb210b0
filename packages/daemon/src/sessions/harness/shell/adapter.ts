import { FabricError, splitCommandLine, type SessionStartPayload } from '@fabric/protocol';
import { DAEMON_VERSION } from '../../../version.js';
import type { HarnessAdapter, PlanContext, SpawnPlan } from '../types.js';

/**
 * Commands a new device allows when started without `--allow`.
 * The full account: docs/harnesses/shell.md.
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

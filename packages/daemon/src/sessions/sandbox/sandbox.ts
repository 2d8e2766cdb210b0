import { spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { constants } from 'node:os';
import { FabricError } from '@fabric/protocol';
import { which } from '../harness/detect.js';
import { bwrapArgs, harnessHomePaths, type SandboxMounts } from './bwrap.js';

/** `auto`: sandbox when possible, else run only the owner's sessions unisolated. `required`: never run unisolated. */
export type SandboxMode = 'auto' | 'required';

/** Whether this machine can make a sandbox, found once at daemon start. */
export type SandboxStatus = { available: true; bwrap: string; env: string } | { available: false; reason: string };

/** The one line a person reads when no sandbox can be made, with what to do about it. */
export const INSTALL_HINT = 'install bubblewrap: apt-get install bubblewrap';

/**
 * Find out whether a sandbox can be made here: `bwrap` on PATH (or at
 * `bwrapPath`), coreutils `env` with `--ignore-signal`, and a trial sandbox
 * running `true` that exits 0. The trial fails, for example, where user
 * namespaces are not allowed (unprivileged containers). Never throws.
 */
export function detectSandbox(opts: { bwrapPath?: string; path?: string } = {}): SandboxStatus {
  const bwrap = opts.bwrapPath ?? which('bwrap', opts.path);
  if (!bwrap) return { available: false, reason: `bubblewrap is not installed; ${INSTALL_HINT}` };
  if (!isExecutable(bwrap))
    return { available: false, reason: `bubblewrap is not installed at ${bwrap}; ${INSTALL_HINT}` };
  const env = which('env', opts.path ?? process.env.PATH) ?? '/usr/bin/env';
  const [command, args] = wrapArgv(
    { bwrap, env },
    [
      '--ro-bind',
      '/',
      '/',
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--die-with-parent',
    ],
    'true',
    [],
  );
  const trial = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'ignore', 'pipe'] });
  if (trial.error) {
    const code = (trial.error as NodeJS.ErrnoException).code;
    return {
      available: false,
      reason:
        code === 'ENOENT'
          ? `bubblewrap is not installed at ${bwrap}; ${INSTALL_HINT}`
          : `bubblewrap could not start (${code ?? trial.error.message}); ${INSTALL_HINT}`,
    };
  }
  if (trial.status !== 0) {
    const why =
      (trial.stderr || '')
        .split('\n')
        .find((l) => l.trim() !== '')
        ?.trim()
        .slice(0, 200) ?? `exit ${trial.status ?? trial.signal}`;
    return {
      available: false,
      reason: `bubblewrap cannot make a sandbox here (${why}); enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or run outside this container)`,
    };
  }
  return { available: true, bwrap, env };
}

/**
 * argv for `command args` inside bubblewrap. The outer bwrap ignores SIGINT
 * and SIGTERM (through `env --ignore-signal`), so the runner's signal ladder,
 * sent to the whole process group, reaches the session's processes and lets
 * them shut down in their own time instead of the sandbox collapsing at the
 * first signal; inside, `env --default-signal` gives the command the default
 * handling a bare spawn gets. SIGKILL still ends everything at once.
 */
function wrapArgv(
  tools: { bwrap: string; env: string },
  sandboxArgs: string[],
  command: string,
  args: readonly string[],
  readyFd?: number,
): [string, string[]] {
  const inner =
    readyFd === undefined
      ? [command, ...args]
      : ['/bin/sh', '-c', `printf . >&${readyFd}; exec "$@" ${readyFd}>&-`, 'fabric-sandbox', command, ...args];
  return [
    tools.env,
    ['--ignore-signal=INT,TERM', tools.bwrap, ...sandboxArgs, '--', tools.env, '--default-signal', ...inner],
  ];
}

/**
 * The descriptor on which a sandboxed turn writes one byte once its command
 * is about to run with default signal handling: a signal sent before then
 * would be ignored by the sandbox's own processes, so the runner holds it
 * until this byte arrives.
 */
export const SANDBOX_READY_FD = 3;

export interface SandboxOptions {
  status: SandboxStatus;
  mode: SandboxMode;
  /** The daemon's data dir, hidden from every session. */
  dataDir: string;
  /** The agent socket sessions reach the daemon through (bound in). */
  agentSocket?: string | null;
  /** Paths a session may read (bound read-only), e.g. the OpenClaw MCP config dir. */
  readOnly?: readonly string[];
  /** The home whose agent-CLI config dirs are bound read-write (default: os.homedir()). */
  home?: string;
  /** More paths bound read-write into every sandbox (`FABRIC_SANDBOX_BIND`), e.g. a toolchain cache under /tmp. */
  writable?: readonly string[];
}

/**
 * The device's sandbox policy. `admit` decides whether a session may run at
 * all; `wrap` turns a planned command into its sandboxed form, or leaves it
 * as is when this device cannot sandbox (only the owner's sessions, in mode
 * `auto`, get that far).
 */
export class Sandbox {
  constructor(private readonly opts: SandboxOptions) {}

  /** What the capability digest reports. */
  get isolation(): 'bwrap' | 'none' {
    return this.opts.status.available ? 'bwrap' : 'none';
  }

  get mode(): SandboxMode {
    return this.opts.mode;
  }

  /** Why there is no sandbox, or null when there is one. */
  get reason(): string | null {
    return this.opts.status.available ? null : this.opts.status.reason;
  }

  /**
   * Throws `sandbox_unavailable` when this session may not run here: there is
   * no sandbox and the session is not the device owner's own, or the device
   * requires one.
   */
  admit(byDeviceOwner: boolean): void {
    const status = this.opts.status;
    if (status.available) return;
    if (byDeviceOwner && this.opts.mode === 'auto') return;
    const who =
      this.opts.mode === 'required'
        ? 'this device requires a sandbox'
        : "this device runs only its owner's sessions without a sandbox";
    throw new FabricError('sandbox_unavailable', `${who}: ${status.reason}`);
  }

  /**
   * The sandboxed argv of a planned command, working in `workDir`. The
   * command is looked up on the session's PATH first, so a program that is
   * not installed is refused (`spawn_failed`) as a bare spawn would be,
   * rather than failing inside the sandbox after the session was acked.
   */
  wrap(
    command: string,
    args: readonly string[],
    workDir: string,
    path: string | undefined,
  ): { command: string; args: string[]; sandboxed: boolean } {
    const status = this.opts.status;
    if (!status.available) return { command, args: [...args], sandboxed: false };
    const found = command.includes('/') ? (isExecutable(command) ? command : null) : which(command, path ?? '');
    if (!found) throw new FabricError('spawn_failed', `${command.slice(0, 64)}: command not found on this device`);
    const mounts: SandboxMounts = {
      dataDir: this.opts.dataDir,
      workDir,
      agentSocket: this.opts.agentSocket ?? null,
      readOnly: this.opts.readOnly ?? [],
      writable: [...harnessHomePaths(this.opts.home ?? homedir()), ...(this.opts.writable ?? [])],
    };
    const [cmd, argv] = wrapArgv(status, bwrapArgs(mounts), found, args, SANDBOX_READY_FD);
    return { command: cmd, args: argv, sandboxed: true };
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * bubblewrap's pid 1 reports a command killed by signal N as exit 128+N;
 * turn that back into the signal a bare spawn would have reported.
 */
export function unwrapExit(
  code: number | null,
  signal: NodeJS.Signals | null,
): { code: number | null; signal: NodeJS.Signals | null } {
  if (code === null || code <= 128) return { code, signal };
  const n = code - 128;
  const name = (Object.entries(constants.signals) as [NodeJS.Signals, number][]).find(([, v]) => v === n)?.[0];
  return name ? { code: null, signal: name } : { code, signal };
}

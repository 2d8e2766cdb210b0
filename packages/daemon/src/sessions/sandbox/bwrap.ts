import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isWithin } from './paths.js';

/**
 * What the agent CLIs keep in the home directory and write while they run:
 * bound read-write into every sandbox where they exist (nothing else of the
 * home is writable). Claude Code: `~/.claude/` and `~/.claude.json`; Codex:
 * `~/.codex/`; OpenCode: `~/.config/opencode/`, `~/.local/share/opencode/`,
 * `~/.local/state/opencode/`, `~/.cache/opencode/`; Kimi: `~/.kimi/`;
 * OpenClaw: `~/.openclaw/`.
 */
export const HARNESS_HOME_PATHS = [
  '.claude',
  '.claude.json',
  '.codex',
  '.config/opencode',
  '.local/share/opencode',
  '.local/state/opencode',
  '.cache/opencode',
  '.kimi',
  '.openclaw',
] as const;

/** What one sandbox sees besides the read-only root. */
export interface SandboxMounts {
  /** The daemon's data dir: hidden behind an empty tmpfs. */
  dataDir: string;
  /** The session's work dir (its cwd), bound read-write. */
  workDir: string;
  /** The agent socket the session's MCP server talks to, bound in when set. */
  agentSocket: string | null;
  /** Extra paths bound read-only (e.g. the OpenClaw MCP config dir in the data dir); skipped when missing. */
  readOnly: readonly string[];
  /** Extra paths bound read-write (the agent CLIs' own config dirs); skipped when missing. */
  writable: readonly string[];
}

/** The home paths of HARNESS_HOME_PATHS under `home`. */
export function harnessHomePaths(home: string): string[] {
  return HARNESS_HOME_PATHS.map((p) => join(home, p));
}

/**
 * bubblewrap's arguments for one session (without the command). Order
 * matters: later mounts cover earlier ones, so the read-only root and the
 * private /tmp come first, then the session's own places, then the tmpfs
 * that hides the data dir, then the few things re-exposed from inside it.
 * Namespaces: mount, pid, ipc, uts (network unchanged); `--die-with-parent`
 * ends the sandbox with the daemon, and the pid namespace ends every
 * process of the session when its first process exits.
 */
export function bwrapArgs(m: SandboxMounts): string[] {
  const args = [
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--die-with-parent',
  ];
  const inData = (p: string) => isWithin(p, m.dataDir);
  const bind = (flag: '--bind' | '--ro-bind', p: string) => {
    if (existsSync(p)) args.push(flag, p, p);
  };
  for (const p of m.writable) if (!inData(p)) bind('--bind', p);
  if (!inData(m.workDir)) args.push('--bind', m.workDir, m.workDir);
  args.push('--tmpfs', m.dataDir);
  if (inData(m.workDir)) args.push('--bind', m.workDir, m.workDir);
  // Bound after the tmpfs, so one that contains the data dir would show it again: never.
  for (const p of m.readOnly) if (!isWithin(m.dataDir, p)) bind('--ro-bind', p);
  if (m.agentSocket) bind('--bind', m.agentSocket);
  // The empty tmpfs over the data dir is made read-only too, once what is bound into it exists.
  args.push('--remount-ro', m.dataDir);
  args.push('--chdir', m.workDir);
  return args;
}

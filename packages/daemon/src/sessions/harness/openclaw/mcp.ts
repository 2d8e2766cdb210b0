import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { writePrivateFile } from '@fabric/node';
import type { McpWiring } from '../types.js';

/**
 * How an OpenClaw process gets the daemon's MCP server.
 * The full account: docs/harnesses/openclaw.md.
 */

/** The environment variables OpenClaw takes its paths from. */
export const OPENCLAW_ENV = {
  configPath: 'OPENCLAW_CONFIG_PATH',
  stateDir: 'OPENCLAW_STATE_DIR',
  includeRoots: 'OPENCLAW_INCLUDE_ROOTS',
  home: 'OPENCLAW_HOME',
} as const;

/** What the setup reads from the machine; `nodeOpenClawHost` is the real one. */
export interface OpenClawHost {
  exists(path: string): boolean;
  /** Whether OpenClaw's include reader takes this file (see above); asked before `realpath`. */
  includable(path: string): boolean;
  /** The canonical path of an includable file. */
  realpath(path: string): string;
  /** The OS home, when neither OPENCLAW_HOME nor HOME names one. */
  homedir(): string;
}

/** src/config/includes.ts MAX_INCLUDE_FILE_BYTES. */
const MAX_INCLUDE_BYTES = 2 * 1024 * 1024;

export const nodeOpenClawHost: OpenClawHost = {
  exists: (p) => existsSync(p),
  includable: (p) => {
    try {
      const st = statSync(p);
      return st.isFile() && st.nlink === 1 && st.size <= MAX_INCLUDE_BYTES;
    } catch {
      return false; // gone since `exists`
    }
  },
  realpath: (p) => realpathSync(p),
  homedir: () => homedir(),
};

/** The user's own OpenClaw paths, as OpenClaw would resolve them from `env`. */
export interface OpenClawPaths {
  stateDir: string;
  /** The config file to include; null when the user has none (OpenClaw then runs on defaults). */
  configPath: string | null;
}

const STATE_DIRNAMES = ['.openclaw', '.clawdbot'];
const CONFIG_FILENAMES = ['openclaw.json', 'clawdbot.json'];

/** Mirrors src/config/paths.ts `resolveConfigPathCandidate` and src/config/state-dir.ts `resolveStateDir`. */
export function openclawPaths(env: Record<string, string>, host: OpenClawHost): OpenClawPaths {
  const home = effectiveHome(env, host);
  const userPath = (p: string) => resolve(p.replace(/^~(?=$|[\\/])/, home));
  const set = (name: string) => env[name]?.trim() || null;
  const stateOverride = set(OPENCLAW_ENV.stateDir);
  const defaultDirs = STATE_DIRNAMES.map((d) => join(home, d));
  const stateDir = stateOverride
    ? userPath(stateOverride)
    : (defaultDirs.find((d) => host.exists(d)) ?? defaultDirs[0]!);
  const configOverride = set(OPENCLAW_ENV.configPath);
  const candidates = configOverride
    ? [userPath(configOverride)]
    : [...(stateOverride ? [userPath(stateOverride)] : []), ...defaultDirs].flatMap((d) =>
        CONFIG_FILENAMES.map((f) => join(d, f)),
      );
  return { stateDir, configPath: candidates.find((c) => host.exists(c)) ?? null };
}

/** src/infra/home-dir.ts: OPENCLAW_HOME (a leading `~` is the OS home), else HOME, else the OS's. */
function effectiveHome(env: Record<string, string>, host: OpenClawHost): string {
  const value = (v: string | undefined) => {
    const t = v?.trim();
    return t && t !== 'undefined' && t !== 'null' ? t : null;
  };
  const osHome = value(env.HOME) ?? value(env.USERPROFILE) ?? host.homedir();
  const explicit = value(env[OPENCLAW_ENV.home]);
  return resolve(explicit ? explicit.replace(/^~(?=$|[\\/])/, osHome) : osHome);
}

/** A file to write before the process starts: it holds no secret. */
export interface OpenClawMcpFile {
  path: string;
  content: string;
}

export interface OpenClawMcpSetup {
  file: OpenClawMcpFile;
  /** Set on the OpenClaw process (with the MCP server's own env values). */
  env: Record<string, string>;
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * The config file that adds `mcp` to the user's OpenClaw config, and the
 * environment that points OpenClaw at it. Pure apart from `host` (which
 * files exist). The file is named by its content, so sessions that need the
 * same file share it and a changed user path or server gets a new one.
 * Null when the server cannot be added without losing the user's config (a
 * file OpenClaw would not include, a directory OPENCLAW_INCLUDE_ROOTS cannot
 * hold) or cannot be expressed (an env name `${…}` cannot reference,
 * OpenClaw's reserved name): the session then runs without it.
 */
export function openclawMcpSetup(
  mcp: McpWiring,
  env: Record<string, string>,
  dir: string,
  host: OpenClawHost,
): OpenClawMcpSetup | null {
  if (mcp.name === '' || mcp.name === '__proto__') return null;
  if (!Object.keys(mcp.env).every((k) => ENV_NAME.test(k))) return null;
  const paths = openclawPaths(env, host);
  const extraEnv: Record<string, string> = {};
  if (!env[OPENCLAW_ENV.stateDir]?.trim()) extraEnv[OPENCLAW_ENV.stateDir] = paths.stateDir;
  const config: Record<string, unknown> = {};
  if (paths.configPath) {
    if (!host.includable(paths.configPath)) return null;
    const roots = [dirname(paths.configPath), dirname(host.realpath(paths.configPath))];
    if (roots.some((r) => r.includes(delimiter))) return null;
    const existing = env[OPENCLAW_ENV.includeRoots]?.split(delimiter).filter((r) => r.trim() !== '') ?? [];
    extraEnv[OPENCLAW_ENV.includeRoots] = [...new Set([...existing, ...roots])].join(delimiter);
    config.$include = paths.configPath;
  }
  const server = {
    enabled: true,
    transport: 'stdio',
    command: literal(mcp.command),
    args: mcp.args.map(literal),
    env: Object.fromEntries(Object.keys(mcp.env).map((k) => [k, `\${${k}}`])),
  };
  config.mcp = { servers: { [mcp.name]: server } };
  const content = `${JSON.stringify(config, null, 2)}\n`;
  const path = join(resolve(dir), `openclaw-${createHash('sha256').update(content).digest('hex').slice(0, 16)}.json`);
  extraEnv[OPENCLAW_ENV.configPath] = path;
  return { file: { path, content }, env: extraEnv };
}

/** A string OpenClaw's `${VAR}` substitution leaves as it is (`${X}` becomes `$${X}`). */
function literal(s: string): string {
  return s.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, '$$$${$1}');
}

/**
 * Write the file unless it already holds this content: directory 0700, file
 * 0600, by rename so a concurrent reader never sees half of it. Throws what
 * the file system throws.
 */
export function writeOpenClawMcpFile(file: OpenClawMcpFile): void {
  if (!isAbsolute(file.path)) throw new Error(`openclaw mcp config path must be absolute: ${file.path}`);
  try {
    if (readFileSync(file.path, 'utf8') === file.content) return;
  } catch {
    // absent (or unreadable): written below
  }
  writePrivateFile(file.path, file.content);
}

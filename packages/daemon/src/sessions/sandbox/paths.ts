import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { FabricError } from '@fabric/protocol';
import { writePrivateFile } from '@fabric/node';

/**
 * System directories no session may work in, nor anywhere below them: what
 * the machine runs from. `/var`, `/opt`, `/srv`, `/mnt`, `/media`, `/tmp`
 * and `/home` are refused only as themselves, since projects legitimately
 * live below them (`/var/www/site`, `/opt/app`, `/tmp/scratch`).
 */
const SYSTEM_TREES = [
  '/etc',
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/boot',
  '/dev',
  '/proc',
  '/sys',
  '/run',
];
const SYSTEM_ROOTS = ['/', '/var', '/opt', '/srv', '/mnt', '/media', '/tmp', '/home', '/root'];

/** `child` is `parent` or lies below it (both absolute and normalised). */
export function isWithin(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest (a path that does not exist yet). */
function real(p: string): string {
  const abs = resolve(p);
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...tail.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return abs;
      tail.push(head.slice(up.length).replace(/^\//, ''));
      head = up;
    }
  }
}

/**
 * Why `dir` may not be a session's work dir, or null when it may. Both paths
 * are resolved with realpath first, so a symlink cannot smuggle one of the
 * refused places in. Refused: `/` and the system directories (see
 * SYSTEM_TREES / SYSTEM_ROOTS), a home directory itself (`os.homedir()`,
 * `/root`, `/home/<name>`), the daemon's data dir, anything inside it and
 * anything containing it (when `dataDir` is given) — except a session's own default work dir
 * (`<dataDir>/work/<sessionId>`), which the runner makes.
 */
export function workDirRefusal(dir: string, dataDir: string | null): string | null {
  const p = real(dir);
  if (dataDir !== null) {
    const data = real(dataDir);
    const ownWork = join(data, 'work');
    if (dirname(p) === ownWork && p !== ownWork) return null;
    if (isWithin(p, data)) return "it is inside the daemon's data directory";
    if (isWithin(data, p)) return "it contains the daemon's data directory";
  }
  if (SYSTEM_ROOTS.includes(p)) return p === '/' ? 'it is the root directory' : 'it is a system directory';
  if (SYSTEM_TREES.some((t) => isWithin(p, t))) return 'it is a system directory';
  const homes = new Set([real(homedir()), '/root']);
  if (homes.has(p) || dirname(p) === '/home') return 'it is a home directory itself; use a project directory inside it';
  // ~/.ssh, ~/.config, ~/.gnupg…: what the machine's user runs with, not a project.
  const home =
    [...homes].find((h) => isWithin(p, h)) ?? (p.startsWith('/home/') ? p.split('/').slice(0, 3).join('/') : null);
  if (home && relative(home, p).split(sep)[0]!.startsWith('.'))
    return 'it is a hidden configuration directory of a home';
  return null;
}

/**
 * True when `dir` is a real project directory: a place where a session's
 * writes are its own business (not `/`, a home, a system directory or the
 * daemon's data dir; a session's default `<dataDir>/work/<id>` counts).
 * Agent tools use this to decide whether "inside the work dir" may be
 * treated as not destructive.
 */
export function isProjectDir(dir: string, dataDir: string): boolean {
  return workDirRefusal(dir, dataDir) === null;
}

/**
 * The real path of a session's requested working directory. Throws
 * `path_not_allowed` for a place no session may work in (see
 * workDirRefusal) and `bad_request` when it is not an existing directory.
 */
export function checkWorkDir(dir: string, dataDir: string | null): string {
  if (dir.includes('\0')) throw new FabricError('bad_request', 'working directory holds a NUL byte');
  if (!isAbsolute(dir))
    throw new FabricError('bad_request', `working directory ${dir.slice(0, 256)} is not an absolute path`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new FabricError('bad_request', `working directory ${dir.slice(0, 256)} does not exist on this device`);
  }
  const why = workDirRefusal(dir, dataDir);
  if (why) throw new FabricError('path_not_allowed', `working directory ${dir.slice(0, 256)} is not allowed: ${why}`);
  return realpathSync(dir);
}

/** Session ids become directory names: only the id alphabet, never `/` or `..`. */
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** A session's own default work dir, `<base>/<sessionId>`, created 0700 (and its base) when missing. */
export function sessionWorkDir(base: string, sessionId: string): string {
  if (!SAFE_ID.test(sessionId)) throw new FabricError('bad_request', 'malformed session id');
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const dir = join(base, sessionId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function conversationFile(base: string, harness: string, harnessSessionId: string): string {
  return join(
    base,
    '.conversations',
    createHash('sha256').update(`${harness}\0${harnessSessionId}`).digest('hex').slice(0, 32),
  );
}

/**
 * Remember which work dir a harness conversation lives in, so a session that
 * resumes it without naming a cwd runs where the conversation started (CLIs
 * such as Claude Code keep their conversations per directory).
 */
export function rememberConversation(base: string, harness: string, harnessSessionId: string, sessionId: string): void {
  if (!SAFE_ID.test(sessionId)) return;
  writePrivateFile(conversationFile(base, harness, harnessSessionId), sessionId);
}

/** The session whose default work dir holds this conversation, or null when none is recorded. */
export function conversationSession(base: string, harness: string, harnessSessionId: string): string | null {
  try {
    const id = readFileSync(conversationFile(base, harness, harnessSessionId), 'utf8').trim();
    return SAFE_ID.test(id) && existsSync(join(base, id)) ? id : null;
  } catch {
    return null;
  }
}

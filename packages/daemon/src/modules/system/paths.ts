import { lstat, realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, parse, resolve, sep } from 'node:path';
import { FabricError } from '@fabric/protocol';

/**
 * Where a path lies for a session: inside its work dir, elsewhere on the
 * machine, or somewhere no agent may touch (the daemon's data dir with its
 * keys, tokens and ledger; the root directory).
 */
export type PathClass = 'work_dir' | 'outside' | 'forbidden';

/** The directories a path is judged against. */
export interface PathContext {
  /** The session's working directory. */
  workDir: string;
  /** The daemon's data dir (device key, tokens, ledger, agent socket). */
  dataDir: string;
}

/** A path resolved the way a write or delete would reach it. */
export interface ResolvedPath {
  /** Absolute, normalised, every existing symlink resolved. */
  path: string;
  where: PathClass;
}

/**
 * The real path of `p`, for paths that may not exist yet: the deepest
 * existing ancestor is resolved with realpath and the missing rest appended
 * (a missing component cannot be a symlink). An existing final symlink is
 * followed. A dangling symlink anywhere on the way, and errors other than
 * "does not exist", are `bad_request`: where it would lead is not known.
 */
async function realpathLoose(p: string): Promise<string> {
  const missing: string[] = [];
  let current = p;
  for (;;) {
    try {
      return join(await realpath(current), ...missing.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new FabricError('bad_request', `cannot resolve ${p} (${code ?? 'error'})`);
      if (
        await lstat(current).then(
          () => true,
          () => false,
        )
      ) {
        throw new FabricError('bad_request', `${current} is a symlink to a missing path; name the real target instead`);
      }
      const parent = dirname(current);
      if (parent === current) return p;
      missing.push(basename(current));
      current = parent;
    }
  }
}

function within(p: string, dir: string): boolean {
  if (p === dir) return true;
  const prefix = dir.endsWith(sep) ? dir : dir + sep;
  return p.startsWith(prefix);
}

/** Directories of the system itself: neither they nor anything inside them is a project. */
const SYSTEM_TREES = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
  '/System',
  '/Library',
  '/private/etc',
];
/** Directories that hold other people's or the system's things: a project may lie inside them, but is not them. */
const SHARED_ROOTS = [
  '/home',
  '/root',
  '/Users',
  '/tmp',
  '/var',
  '/var/tmp',
  '/opt',
  '/srv',
  '/mnt',
  '/media',
  '/private',
  '/private/tmp',
  '/snap',
];

/**
 * Whether a resolved directory is a real project dir, where a session may
 * change files without asking: not the root, not a system directory or
 * anything inside one, not a shared root such as `/home` or `/tmp` itself,
 * not a home directory itself (`home`, or any direct child of `/home`,
 * `/Users`), and neither the data dir nor a directory that holds it. A dir
 * inside the data dir (the default `<data>/work/<session>`) is a project dir.
 * Pure: every argument is an already resolved absolute path.
 */
export function isProjectDir(dir: string, dataDir: string, home: string = homedir()): boolean {
  if (parse(dir).root === dir) return false;
  if (SYSTEM_TREES.some((t) => within(dir, t))) return false;
  if (SHARED_ROOTS.includes(dir)) return false;
  if (dir === home || ['/home', '/Users'].includes(dirname(dir))) return false;
  return !within(dataDir, dir);
}

/**
 * Judge an already resolved path. The root directory is forbidden; a path
 * inside the data dir is forbidden unless it is inside a work dir that itself
 * lies within the data dir (the default `<data>/work`): the deeper one wins.
 * Only a real project dir (`isProjectDir`) has an inside: for a session whose
 * work dir is `/`, a home dir, the data dir or a system dir, every path
 * outside the data dir is `outside`.
 */
export function classifyResolved(p: string, workDir: string, dataDir: string, home: string = homedir()): PathClass {
  if (parse(p).root === p) return 'forbidden';
  const inWork = isProjectDir(workDir, dataDir, home) && within(p, workDir);
  const workInsideData = workDir !== dataDir && within(workDir, dataDir);
  if (within(p, dataDir) && !(inWork && workInsideData)) return 'forbidden';
  return inWork ? 'work_dir' : 'outside';
}

/**
 * Resolve an agent-supplied path and judge it. Only absolute paths are
 * accepted (relative → `bad_request`). The path is normalised and resolved
 * with realpath (parents, and the file itself when it is a symlink), so a
 * symlink inside the work dir that points outside counts as `outside`, and
 * one that points into the data dir as `forbidden`. Never throws for a
 * forbidden path: the caller decides.
 */
export async function resolveTarget(path: string, ctx: PathContext): Promise<ResolvedPath> {
  if (!isAbsolute(path))
    throw new FabricError(
      'bad_request',
      `${path} is not an absolute path; name the file from the root, e.g. /home/me/notes.txt`,
    );
  const normal = resolve(path);
  if (parse(normal).root === normal) return { path: normal, where: 'forbidden' };
  const [real, work, data] = await Promise.all([
    realpathLoose(normal),
    realpathLoose(resolve(ctx.workDir)),
    realpathLoose(resolve(ctx.dataDir)),
  ]);
  return { path: real, where: classifyResolved(real, work, data) };
}

/** `resolveTarget(...).where`: `'work_dir' | 'outside' | 'forbidden'`. Throws `bad_request` for a relative path. */
export async function classifyPath(path: string, ctx: PathContext): Promise<PathClass> {
  return (await resolveTarget(path, ctx)).where;
}

/** Throws `path_not_allowed` for a forbidden path; otherwise the resolved path. */
export async function resolveAllowed(path: string, ctx: PathContext): Promise<ResolvedPath> {
  const target = await resolveTarget(path, ctx);
  if (target.where === 'forbidden') {
    const why =
      parse(target.path).root === target.path
        ? 'is the root directory'
        : "is in the daemon's data dir (keys, tokens, ledger)";
    throw new FabricError('path_not_allowed', `${target.path} ${why}; agents may not change it`);
  }
  return target;
}

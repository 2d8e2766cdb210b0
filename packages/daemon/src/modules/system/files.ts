import { createHash, randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, readlink, realpath, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  FabricError,
  fileDeleteInputSchema,
  fileWriteInputSchema,
  type FileDeleteAnswer,
  type FileWriteAnswer,
} from '@fabric/protocol';
import { resolveAllowed, type PathContext, type PathClass } from './paths.js';
import { parseInput } from './validate.js';

/** What is at a resolved path now, as a mutation would find it. */
export interface FileTarget {
  path: string;
  where: PathClass;
  /** null: nothing there. */
  kind: 'file' | 'directory' | 'other' | null;
  /** Size of the file there; null when there is no regular file. */
  bytes: number | null;
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw asFabric(err, path);
  }
}

/** Map the file system's refusals to codes an agent can act on; anything else is a bug to surface. */
function asFabric(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT')
    return new FabricError('not_found', `${dirname(path)} does not exist; create the directory first`);
  if (code === 'EACCES' || code === 'EPERM')
    return new FabricError('forbidden', `the daemon may not change ${path} (permission denied)`);
  if (code === 'EROFS') return new FabricError('forbidden', `${path} is on a read-only file system`);
  if (code === 'ENOTDIR') return new FabricError('bad_request', `a parent of ${path} is not a directory`);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new FabricError('conflict', `no space left to write ${path}`);
  if (code === 'ELOOP') return swapped(path);
  return err;
}

function swapped(path: string): FabricError {
  return new FabricError(
    'path_not_allowed',
    `${path} changed while it was being checked (a symlink was swapped in); agents may not change it this way`,
  );
}

/**
 * Resolve an agent-supplied path (see `resolveTarget`) and look at what is
 * there. Throws `bad_request` for a relative path and `path_not_allowed` for
 * a forbidden one; never for a missing file.
 */
export async function inspectTarget(path: string, ctx: PathContext): Promise<FileTarget> {
  const target = await resolveAllowed(path, ctx);
  const st = await statOrNull(target.path);
  const kind = st === null ? null : st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other';
  return { ...target, kind, bytes: st?.isFile() ? st.size : null };
}

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants;
const PROC_FD = '/proc/self/fd';

/**
 * A directory held open: the one whose path was checked, whatever happens
 * to that path afterwards. `at(name)` names an entry of that very directory
 * (through `/proc/self/fd/N/`, where the kernel offers it), so a symlink
 * swapped in anywhere on the path after the check cannot redirect a create,
 * rename or unlink elsewhere.
 */
interface PinnedDir {
  at(name: string): string;
  close(): Promise<void>;
  sync(): Promise<void>;
}

/**
 * Open `dir` (an already resolved real path) and prove that what was opened
 * is still `dir`: with `/proc`, the descriptor's own real path must equal it;
 * without (macOS), the device and inode of the descriptor and of the path,
 * resolved again, must match. Throws `path_not_allowed` when they differ.
 */
async function pinDir(dir: string): Promise<PinnedDir> {
  let handle: FileHandle;
  try {
    handle = await open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FabricError('not_found', `${dir} does not exist; create the directory first`);
    throw asFabric(err, dir);
  }
  const close = () => handle.close();
  const sync = () => handle.sync().catch(() => undefined); // best effort: some file systems cannot sync a directory
  try {
    const viaProc = `${PROC_FD}/${handle.fd}`;
    const opened = await readlink(viaProc).catch(() => null);
    if (opened !== null) {
      if (opened !== dir) throw swapped(dir);
      return { at: (name) => `${viaProc}/${name}`, close, sync };
    }
    const [held, now] = await Promise.all([handle.stat(), realpath(dir).then((r) => (r === dir ? lstat(r) : null))]);
    if (held.dev !== now?.dev || held.ino !== now.ino) throw swapped(dir);
    return { at: (name) => join(dir, name), close, sync };
  } catch (err) {
    await close();
    throw err;
  }
}

/** lstat of an entry of a pinned dir; null when there is none. */
async function entryOrNull(dir: PinnedDir, name: string, shownPath: string): Promise<Stats | null> {
  try {
    return await lstat(dir.at(name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw asFabric(err, shownPath);
  }
}

/** SHA-256 (hex) and size of an open file, read in chunks. */
async function hashHandle(handle: FileHandle): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  const buffer = Buffer.alloc(64 * 1024);
  let bytes = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    bytes += bytesRead;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Hash a regular file of a pinned dir without following a symlink there (one swapped in is `path_not_allowed`). */
async function hashEntry(dir: PinnedDir, name: string, shownPath: string): Promise<{ sha256: string; bytes: number }> {
  let handle: FileHandle;
  try {
    handle = await open(dir.at(name), O_RDONLY | O_NOFOLLOW);
  } catch (err) {
    throw asFabric(err, shownPath);
  }
  try {
    if (!(await handle.stat()).isFile()) throw new FabricError('bad_request', `${shownPath} is not a regular file`);
    return await hashHandle(handle);
  } finally {
    await handle.close();
  }
}

function refuseNonFile(t: FileTarget, verb: string): void {
  if (t.kind === 'directory')
    throw new FabricError('bad_request', `${t.path} is a directory; only files can be ${verb}`);
  if (t.kind === 'other')
    throw new FabricError('bad_request', `${t.path} is not a regular file; only files can be ${verb}`);
}

/** What a planned mutation was judged on: the executor refuses to act on any other path. */
export interface Planned {
  /** The resolved path the plan (and any approval) named. */
  path: string;
}

/** Resolve and judge again; the target must be where the plan said (a path swapped since is `path_not_allowed`). */
async function recheck(path: string, ctx: PathContext, planned: Planned | undefined): Promise<FileTarget> {
  const target = await inspectTarget(path, ctx);
  if (planned && target.path !== planned.path) throw swapped(planned.path);
  return target;
}

/**
 * Create or replace one file with UTF-8 text, atomically: the content goes
 * to a temp file in the same directory, is flushed, then renamed over the
 * target, so a reader sees the old file or the new one, never half. The
 * target's directory is resolved once and held open; the temp file is
 * created in that very directory (`O_EXCL`: never through a planted file
 * or symlink) and renamed there, so a symlink swapped in after the check
 * cannot send the write elsewhere. An existing file keeps its permission
 * bits (set-id and sticky bits are not carried over) and, when the daemon
 * runs as root, its owner; `mode` overrides. Throws `bad_request` (relative
 * path, a directory or special file there, bad input), `path_not_allowed`
 * (data dir, `/`, a path that changed since it was checked or planned),
 * `not_found` (the directory does not exist), `forbidden` (permission denied).
 */
export async function writeFile(raw: unknown, ctx: PathContext, planned?: Planned): Promise<FileWriteAnswer> {
  const input = parseInput(fileWriteInputSchema, raw, 'file write');
  const target = await recheck(input.path, ctx, planned);
  refuseNonFile(target, 'written');
  const name = basename(target.path);
  const dir = await pinDir(dirname(target.path));
  try {
    const before = await entryOrNull(dir, name, target.path);
    if (before?.isSymbolicLink()) throw swapped(target.path);
    if (before && !before.isFile())
      throw new FabricError('bad_request', `${target.path} is not a regular file; only files can be written`);
    const previousSha256 = before ? (await hashEntry(dir, name, target.path)).sha256 : null;

    const data = Buffer.from(input.content, 'utf8');
    const mode = input.mode !== undefined ? parseInt(input.mode, 8) : before ? before.mode & 0o777 : null;
    const temp = dir.at(`.${name}.${randomBytes(6).toString('hex')}.fabric-tmp`);
    try {
      // 'wx': the temp name must be new, so a planted file or symlink there is never written through.
      // With no mode to keep or set, a new file gets the usual 0666 less the umask.
      const handle = await open(temp, 'wx', mode === null ? 0o666 : 0o600);
      try {
        await handle.writeFile(data);
        // chmod after create: the umask would otherwise narrow an explicit or kept mode.
        if (mode !== null) await handle.chmod(mode);
        if (before && process.getuid?.() === 0) await handle.chown(before.uid, before.gid);
        await handle.sync();
      } finally {
        await handle.close();
      }
      // rename replaces the entry itself: a symlink put there meanwhile is replaced, never followed.
      await rename(temp, dir.at(name));
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw asFabric(err, target.path);
    }
    await dir.sync();
    return {
      path: target.path,
      bytes: data.length,
      created: before === null,
      previousSha256,
      sha256: createHash('sha256').update(data).digest('hex'),
    };
  } finally {
    await dir.close();
  }
}

/**
 * Delete one regular file, reporting what it held. The directory is held
 * open as in `writeFile`, so the unlink happens in the directory that was
 * checked. Throws `not_found` (no such file), `bad_request` (relative path,
 * a directory or special file), `path_not_allowed` (data dir, `/`, a path
 * that changed since it was checked or planned), `forbidden` (permission denied).
 */
export async function deleteFile(raw: unknown, ctx: PathContext, planned?: Planned): Promise<FileDeleteAnswer> {
  const input = parseInput(fileDeleteInputSchema, raw, 'file delete');
  const target = await recheck(input.path, ctx, planned);
  if (target.kind === null) throw new FabricError('not_found', `${target.path} does not exist`);
  refuseNonFile(target, 'deleted');
  const name = basename(target.path);
  const dir = await pinDir(dirname(target.path));
  try {
    const now = await entryOrNull(dir, name, target.path);
    if (now === null) throw new FabricError('not_found', `${target.path} does not exist`);
    if (now.isSymbolicLink()) throw swapped(target.path);
    if (!now.isFile())
      throw new FabricError('bad_request', `${target.path} is not a regular file; only files can be deleted`);
    const { sha256, bytes } = await hashEntry(dir, name, target.path);
    await unlink(dir.at(name)).catch((err: unknown) => {
      throw asFabric(err, target.path);
    });
    await dir.sync();
    return { path: target.path, bytes, sha256 };
  } finally {
    await dir.close();
  }
}

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { lstat, open, rename, unlink } from 'node:fs/promises';
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
  if (code === 'ENOENT') return new FabricError('not_found', `${dirname(path)} does not exist; create the directory first`);
  if (code === 'EACCES' || code === 'EPERM') return new FabricError('forbidden', `the daemon may not change ${path} (permission denied)`);
  if (code === 'EROFS') return new FabricError('forbidden', `${path} is on a read-only file system`);
  if (code === 'ENOTDIR') return new FabricError('bad_request', `a parent of ${path} is not a directory`);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new FabricError('conflict', `no space left to write ${path}`);
  return err;
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

/** SHA-256 (hex) of a file's content, streamed. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('error', reject).on('data', (chunk) => hash.update(chunk)).on('end', () => resolve(hash.digest('hex')));
  });
}

function refuseNonFile(t: FileTarget, verb: string): void {
  if (t.kind === 'directory') throw new FabricError('bad_request', `${t.path} is a directory; only files can be ${verb}`);
  if (t.kind === 'other') throw new FabricError('bad_request', `${t.path} is not a regular file; only files can be ${verb}`);
}

/**
 * Create or replace one file with UTF-8 text, atomically: the content goes
 * to a temp file in the same directory, is flushed, then renamed over the
 * target, so a reader sees the old file or the new one, never half. An
 * existing file keeps its permission bits (set-id and sticky bits are not
 * carried over) and, when the daemon runs as root, its owner; `mode`
 * overrides. Throws `bad_request` (relative path, a directory or special
 * file there, bad input), `path_not_allowed` (data dir, `/`), `not_found`
 * (the directory does not exist), `forbidden` (permission denied).
 */
export async function writeFile(raw: unknown, ctx: PathContext): Promise<FileWriteAnswer> {
  const input = parseInput(fileWriteInputSchema, raw, 'file write');
  const target = await inspectTarget(input.path, ctx);
  refuseNonFile(target, 'written');
  const before = target.kind === 'file' ? await lstat(target.path) : null;
  const previousSha256 = before ? await sha256File(target.path) : null;

  const data = Buffer.from(input.content, 'utf8');
  const mode = input.mode !== undefined ? parseInt(input.mode, 8) : before ? before.mode & 0o777 : null;
  const temp = join(dirname(target.path), `.${basename(target.path)}.${randomBytes(6).toString('hex')}.fabric-tmp`);
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
    await rename(temp, target.path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw asFabric(err, target.path);
  }
  await syncDir(dirname(target.path));
  return {
    path: target.path,
    bytes: data.length,
    created: before === null,
    previousSha256,
    sha256: createHash('sha256').update(data).digest('hex'),
  };
}

/** Flush the directory entry of a rename; best effort (not every platform can open a directory). */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // The rename happened; only its durability across a crash is less certain.
  }
}

/**
 * Delete one regular file, reporting what it held. Throws `not_found` (no
 * such file), `bad_request` (relative path, a directory or special file),
 * `path_not_allowed` (data dir, `/`), `forbidden` (permission denied).
 */
export async function deleteFile(raw: unknown, ctx: PathContext): Promise<FileDeleteAnswer> {
  const input = parseInput(fileDeleteInputSchema, raw, 'file delete');
  const target = await inspectTarget(input.path, ctx);
  if (target.kind === null) throw new FabricError('not_found', `${target.path} does not exist`);
  refuseNonFile(target, 'deleted');
  const sha256 = await sha256File(target.path).catch((err: unknown) => {
    throw asFabric(err, target.path);
  });
  await unlink(target.path).catch((err: unknown) => {
    throw asFabric(err, target.path);
  });
  return { path: target.path, bytes: target.bytes ?? 0, sha256 };
}

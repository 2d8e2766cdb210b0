import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FabricError } from '@fabric/protocol';

/** The lock file's name in a data directory: `{"pid":N,"start":"<ticks since boot>"}`. */
export const LOCK_FILE = 'optimal.lock';

interface Holder {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: when the process started. Null where there is no /proc. */
  start: string | null;
}

/** The held lock of a data directory; `release` is idempotent and runs at process exit by itself. */
export interface DataDirLock {
  readonly file: string;
  release(): void;
}

/**
 * Claim `dir` for this process, so one `optimal up|serve|device` at a time
 * runs on it. The lock is a file naming the holder's pid and the pid's start
 * time, made complete before it appears (written aside, then hard-linked into
 * place, which fails if one is there). A crash cannot leave it stale: a lock
 * whose pid is gone, or now belongs to a process that started at another
 * time (a reused pid), is taken over. Throws `data_dir_in_use` naming the
 * holder when a live process holds it; then nothing in `dir` has changed.
 */
export function lockDataDir(dir: string): DataDirLock {
  const file = join(dir, LOCK_FILE);
  const self: Holder = { pid: process.pid, start: startTime(process.pid) };
  const inUse = (h: Holder) =>
    new FabricError('data_dir_in_use', `${dir} is used by pid ${h.pid} (stop it, or use --data)`);

  // Look before writing anything: a refused start leaves no trace.
  const before = readHolder(file);
  if (before && alive(before)) throw inUse(before);

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 10; attempt++) {
    if (place(file, self)) return held(file, self);
    const holder = readHolder(file);
    if (holder && alive(holder)) throw inUse(holder);
    // Stale (or unreadable): take it over under a second lock, so two starters cannot both break it.
    const breaker = `${file}.break`;
    if (place(breaker, self)) {
      try {
        const now = readHolder(file);
        if (!now || !alive(now)) unlinkQuietly(file);
      } finally {
        unlinkQuietly(breaker);
      }
    } else {
      const other = readHolder(breaker);
      if (!other || !alive(other)) unlinkQuietly(breaker); // a starter died while breaking
    }
  }
  const last = readHolder(file);
  throw last
    ? inUse(last)
    : new FabricError('data_dir_in_use', `${dir} is being claimed by another process; try again`);
}

function held(file: string, self: Holder): DataDirLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    const now = readHolder(file);
    if (now?.pid === self.pid && now.start === self.start) unlinkQuietly(file);
  };
  process.on('exit', release);
  return { file, release };
}

/** Put a complete lock file at `file` unless one is there; true when this call placed it. */
function place(file: string, self: Holder): boolean {
  const aside = `${file}.${self.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(aside, JSON.stringify(self), { mode: 0o600 });
  try {
    linkSync(aside, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkQuietly(aside);
  }
}

function readHolder(file: string): Holder | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<Holder>;
    if (typeof v.pid !== 'number' || !Number.isInteger(v.pid) || v.pid <= 0) return null;
    return { pid: v.pid, start: typeof v.start === 'string' ? v.start : null };
  } catch {
    return null;
  }
}

/**
 * The process named by the lock still runs: the pid exists, is not a zombie
 * (killed, not yet reaped) and, where /proc tells, started when the lock says.
 */
function alive(h: Holder): boolean {
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // ESRCH: no such process
  }
  const now = procStat(h.pid);
  if (now && (now.state === 'Z' || now.state === 'X')) return false;
  return h.start === null || now === null || now.start === h.start;
}

/** The start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22), or null without /proc. */
function startTime(pid: number): string | null {
  return procStat(pid)?.start ?? null;
}

/** State (field 3) and start time (field 22) of `pid` from /proc/<pid>/stat; null without /proc. */
function procStat(pid: number): { state: string; start: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[0] && rest[19] ? { state: rest[0], start: rest[19] } : null;
  } catch {
    return null;
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

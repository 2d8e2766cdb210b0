import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writePrivateJson } from '@fabric/node';

/**
 * One session process the daemon started: the process-group leader it
 * spawned (the harness, or bubblewrap around it). `startTime` is field 22 of
 * `/proc/<pid>/stat` (clock ticks since boot), so a pid the kernel has since
 * given to another program is never mistaken for ours.
 */
export const procEntrySchema = z.object({
  sessionId: z.string().min(1).max(128),
  pid: z.number().int().positive(),
  pgid: z.number().int().positive(),
  startTime: z.string().regex(/^\d{1,20}$/),
  sandboxed: z.boolean(),
});
export type ProcEntry = z.infer<typeof procEntrySchema>;

const procFileSchema = z.object({
  daemonPid: z.number().int(),
  /** The writing daemon's own start time: while that process lives, its sessions are its own, not leftovers. */
  daemonStartTime: z.string().nullable().default(null),
  sessions: z.array(procEntrySchema).max(10_000),
});

/** What became of a process a previous run of the daemon left behind. */
export interface Leftover extends ProcEntry {
  /** `terminated`: it ended on SIGTERM; `killed`: it needed SIGKILL; `gone`: nothing of it was left to end. */
  outcome: 'terminated' | 'killed' | 'gone';
}

/** `<dataDir>/procs.json`: the session processes a running daemon has started. */
export function procFilePath(dataDir: string): string {
  return join(dataDir, 'procs.json');
}

/**
 * The running sessions' processes, kept in a small 0600 file in the data
 * dir, rewritten on every change. It exists so that the next run of the
 * daemon can end what a crash (SIGKILL, power loss of the daemon alone)
 * left running: see {@link ProcessRecord.takeLeftovers} and {@link endLeftovers}.
 */
export class ProcessRecord {
  private readonly entries = new Map<string, ProcEntry>();

  constructor(private readonly file: string) {}

  /**
   * What the previous run recorded, read once and forgotten (the file is
   * reset to this run's, still empty, set). A missing, unreadable or
   * malformed file means nothing to end; so does a file whose daemon is
   * still running (another daemon on this data dir: its sessions are not
   * ours to end, and its file is left alone). Call before the first `add`.
   */
  takeLeftovers(): ProcEntry[] {
    let previous: ProcEntry[] = [];
    try {
      const parsed = procFileSchema.safeParse(JSON.parse(readFileSync(this.file, 'utf8')));
      if (parsed.success) {
        const { daemonPid, daemonStartTime } = parsed.data;
        if (daemonPid !== process.pid && daemonStartTime !== null && procStartTime(daemonPid) === daemonStartTime)
          return [];
        previous = parsed.data.sessions;
      }
    } catch {
      /* no file, or not JSON: nothing recorded */
    }
    this.write();
    return previous;
  }

  /** Record a session's process (replacing the one of its previous turn). */
  add(entry: ProcEntry): void {
    this.entries.set(entry.sessionId, entry);
    this.write();
  }

  /** Forget a session's process once it has exited; a later turn's pid is left alone. */
  remove(sessionId: string, pid: number): void {
    if (this.entries.get(sessionId)?.pid !== pid) return;
    this.entries.delete(sessionId);
    this.write();
  }

  /** Remove the file (a clean stop leaves nothing to end). */
  close(): void {
    this.entries.clear();
    rmSync(this.file, { force: true });
  }

  private write(): void {
    // Losing the record costs only the cleanup after a crash: never a session.
    try {
      writePrivateJson(this.file, {
        daemonPid: process.pid,
        daemonStartTime: procStartTime(process.pid),
        sessions: [...this.entries.values()],
      });
    } catch {
      /* the data dir is read-only or full */
    }
  }
}

interface Stat {
  pid: number;
  state: string;
  pgrp: number;
  startTime: string;
}

/** `/proc/<pid>/stat` of a live process, or null when there is none. */
function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': split after the last one.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, , pgrp] = fields;
  const startTime = fields[19];
  if (!state || !pgrp || !startTime) return null;
  return { pid, state, pgrp: Number(pgrp), startTime };
}

/** A process's start time (clock ticks since boot), or null when it is not running. */
export function procStartTime(pid: number): string | null {
  return readStat(pid)?.startTime ?? null;
}

/**
 * The live (not zombie) processes of the entry's group. Empty when its
 * leader's pid now names another program (a different start time): the
 * group number has then been reused and nothing in it is ours.
 */
function groupMembers(e: ProcEntry): number[] {
  const leader = readStat(e.pgid);
  if (leader && leader.startTime !== e.startTime) return [];
  const members: number[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  for (const name of pids) {
    const st = readStat(Number(name));
    if (st?.pgrp === e.pgid && st.state !== 'Z' && BigInt(st.startTime) >= BigInt(e.startTime)) members.push(st.pid);
  }
  return members;
}

async function waitGone(e: ProcEntry, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (groupMembers(e).length === 0) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    /* the group is gone */
  }
}

/**
 * End what a previous run left: SIGTERM to each recorded process group
 * whose processes are still ours, then SIGKILL to what is left after
 * `graceMs`. Resolves once every group is gone (or SIGKILL was sent and a
 * second `graceMs` has passed), with what became of each.
 */
export async function endLeftovers(entries: readonly ProcEntry[], graceMs = 1000): Promise<Leftover[]> {
  return Promise.all(
    entries.map(async (e): Promise<Leftover> => {
      if (groupMembers(e).length === 0) return { ...e, outcome: 'gone' };
      signalGroup(e.pgid, 'SIGTERM');
      if (await waitGone(e, graceMs)) return { ...e, outcome: 'terminated' };
      signalGroup(e.pgid, 'SIGKILL');
      await waitGone(e, graceMs);
      return { ...e, outcome: 'killed' };
    }),
  );
}

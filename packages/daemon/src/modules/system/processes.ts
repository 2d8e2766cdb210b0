import si from 'systeminformation';
import type { ProcessInfo, ProcessesAnswer, SystemQuery } from '@fabric/protocol';

type ProcessesQuery = Extract<SystemQuery, { query: 'processes' }>;

/** The process table as systeminformation reads it (`ps` with fixed arguments). */
export type ProcessSource = () => Promise<si.Systeminformation.ProcessesData>;

/** Longest command line an answer carries; the rest is cut. */
const MAX_COMMAND = 1000;

const nonNegative = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);
const wholeNonNegative = (n: number): number => Math.round(nonNegative(n));

/** One process as the protocol shows it. `memRss` is KiB as ps reports it. */
export function toProcessInfo(p: si.Systeminformation.ProcessesProcessData): ProcessInfo {
  const command = [p.command, p.params].filter((s) => s && s.length > 0).join(' ');
  return {
    pid: wholeNonNegative(p.pid),
    parentPid: wholeNonNegative(p.parentPid),
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- ps output can lack any column */
    name: p.name ?? '',
    user: p.user ?? '',
    cpuPercent: nonNegative(p.cpu),
    memPercent: nonNegative(p.mem),
    memRssBytes: wholeNonNegative(p.memRss) * 1024,
    state: p.state ?? '',
    started: p.started ?? '',
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
    command: command.length > MAX_COMMAND ? command.slice(0, MAX_COMMAND) : command,
  };
}

const byKey: Record<ProcessesQuery['sort'], (a: ProcessInfo, b: ProcessInfo) => number> = {
  cpu: (a, b) => b.cpuPercent - a.cpuPercent || a.pid - b.pid,
  memory: (a, b) => b.memRssBytes - a.memRssBytes || a.pid - b.pid,
  pid: (a, b) => a.pid - b.pid,
};

/**
 * The `processes` query: the process table, filtered by a case-insensitive
 * name substring (in JS: the caller's string never reaches a command),
 * sorted, cut to `limit`.
 */
export async function queryProcesses(
  q: ProcessesQuery,
  source: ProcessSource = () => si.processes(),
): Promise<ProcessesAnswer> {
  const table = await source();
  const all = table.list.map(toProcessInfo);
  const needle = q.name?.toLowerCase();
  const matched = needle === undefined ? all : all.filter((p) => p.name.toLowerCase().includes(needle));
  return {
    query: 'processes',
    total: all.length,
    matched: matched.length,
    processes: [...matched].sort(byKey[q.sort]).slice(0, q.limit),
  };
}

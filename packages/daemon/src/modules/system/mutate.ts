import { readFile } from 'node:fs/promises';
import {
  FabricError,
  processSignalInputSchema,
  serviceActionInputSchema,
  type ProcessSignalAnswer,
  type ServiceActionAnswer,
} from '@fabric/protocol';
import { runCommand, tail } from './exec.js';
import { requireSystemd, serviceUnitName, systemctl, type SystemdOptions } from './systemd.js';
import { parseInput } from './validate.js';

export { writeFile, deleteFile } from './files.js';

/**
 * The executors of the system mutations, one job each. They validate their
 * input themselves (a bad one is refused before anything runs) but do not
 * ask for approval or log: the caller plans (`planMutation`), asks the owner
 * when `isDestructive`, logs, runs the executor, logs again.
 */

/** The fixed systemctl argv for one action on one unit; `--` ends options before the (validated) name. */
export function serviceActionArgs(action: string, unit: string): string[] {
  return ['--no-ask-password', action, '--', unit];
}

/**
 * Start, stop or restart one systemd service. Throws `bad_request` for a
 * name that is not a plain service name (before anything runs) and
 * `unsupported` without systemd. A systemctl that runs but fails is not an
 * exception: the answer says `ok: false` with the end of its stderr.
 */
export async function serviceAction(raw: unknown, opts: SystemdOptions = {}): Promise<ServiceActionAnswer> {
  const input = parseInput(serviceActionInputSchema, raw, 'service action');
  const unit = serviceUnitName(input.service);
  await requireSystemd(opts);
  const run = await systemctl(serviceActionArgs(input.action, unit), opts);
  return { service: unit, action: input.action, ok: run.code === 0, stderrTail: tail(run.stderr) };
}

/**
 * A process's short name (`comm`), or null when there is no such process
 * (or it cannot be seen). The pid is a validated integer; it is the only
 * thing that reaches `ps` where there is no /proc.
 */
export async function processName(pid: number, platform: NodeJS.Platform = process.platform): Promise<string | null> {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (platform === 'linux') {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => null);
    return comm === null ? null : comm.trim();
  }
  const run = await runCommand('ps', ['-o', 'comm=', '-p', String(pid)], { timeoutMs: 5_000 }).catch(() => null);
  const name = run?.code === 0 ? run.stdout.trim().split('/').pop() : undefined;
  return name || null;
}

/** Processes no agent may signal: init, the daemon itself and whatever started it. */
export function isProtectedPid(pid: number, self: { pid: number; ppid: number } = process): boolean {
  return pid <= 1 || pid === self.pid || pid === self.ppid;
}

/**
 * Whether a process exists: `not_found` when it does not, `forbidden` when
 * it belongs to someone the daemon may not signal.
 */
export function assertSignallable(pid: number): void {
  try {
    process.kill(pid, 0);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') throw new FabricError('not_found', `no process with pid ${pid}`);
    if (code === 'EPERM')
      throw new FabricError('forbidden', `the daemon may not signal pid ${pid} (another user's process)`);
    throw err;
  }
}

/**
 * Send one allowed signal to one process; its name is read first, for the
 * report. Throws `bad_request` (signal not allowed, bad pid), `forbidden`
 * (pid 1, the daemon, its parent, another user's process), `not_found`.
 */
export async function signalProcess(
  raw: unknown,
  self: { pid: number; ppid: number } = process,
): Promise<ProcessSignalAnswer> {
  const input = parseInput(processSignalInputSchema, raw, 'process signal');
  if (isProtectedPid(input.pid, self))
    throw new FabricError('forbidden', `pid ${input.pid} is init or the daemon itself; it may not be signalled`);
  assertSignallable(input.pid);
  const name = (await processName(input.pid)) ?? 'unknown';
  try {
    process.kill(input.pid, `SIG${input.signal}`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') throw new FabricError('not_found', `pid ${input.pid} exited before it could be signalled`);
    if (code === 'EPERM') throw new FabricError('forbidden', `the daemon may not signal pid ${input.pid}`);
    throw err;
  }
  return { pid: input.pid, name, signal: input.signal };
}

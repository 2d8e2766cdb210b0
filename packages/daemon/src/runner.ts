import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import {
  FabricError, isFabricError,
  type Envelope, type HarnessName, type RunningSession, type SessionStartPayload,
} from '@fabric/protocol';
import type { HarnessAdapter } from './harness/types.js';

export interface RunnerOptions {
  adapters: ReadonlyMap<HarnessName, HarnessAdapter>;
  allowlist: readonly string[];
  /** Where sessions run when they name no cwd. */
  workDir: string;
  /** Hand an envelope to the transport (sent now or queued while offline). */
  emit: (env: Envelope) => void;
  /** Wait between SIGINT, SIGTERM and SIGKILL when cancelling (default 3 s). */
  graceMs?: number;
  now?: () => number;
}

interface Running {
  sessionId: string;
  child: ChildProcess;
  adapter: HarnessAdapter;
  startedAt: number;
  ladder: Array<ReturnType<typeof setTimeout>>;
  exited: Promise<void>;
  lineBuffer: string;
}

/**
 * Runs sessions as child processes through harness adapters. Each child gets
 * its own process group so a cancel reaches everything it started: SIGINT,
 * then SIGTERM, then SIGKILL, `graceMs` apart. The exit envelope is emitted
 * only after stdout and stderr are drained, so no output trails the exit.
 */
export class SessionRunner {
  private readonly sessions = new Map<string, Running>();
  private readonly graceMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: RunnerOptions) {
    this.graceMs = opts.graceMs ?? 3000;
    this.now = opts.now ?? Date.now;
  }

  /** Sessions with a live process, for hello and heartbeats. */
  running(): RunningSession[] {
    return [...this.sessions.values()].map((s) => ({ sessionId: s.sessionId, pid: s.child.pid ?? null, startedAt: s.startedAt }));
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Start a session; answers with `session.ack` or `session.refuse` through `emit`. */
  start(start: SessionStartPayload): void {
    const { sessionId } = start;
    if (this.sessions.has(sessionId)) return; // a duplicate start (resent after a reconnect) is already running
    let plan;
    let adapter: HarnessAdapter | undefined;
    let cwd: string;
    try {
      adapter = this.opts.adapters.get(start.harness);
      if (!adapter) throw new FabricError('harness_unavailable', `harness ${start.harness} is not supported by this device`);
      cwd = this.resolveCwd(start.cwd);
      plan = adapter.plan(start, { allowlist: this.opts.allowlist, baseEnv: stringEnv(process.env) });
    } catch (err) {
      const e = isFabricError(err) ? err : new FabricError('spawn_failed', (err as Error).message);
      this.refuse(sessionId, e);
      return;
    }
    const child = spawn(plan.command, plan.args, { cwd, env: plan.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const entry: Running = {
      sessionId, child, adapter, startedAt: this.now(), ladder: [], lineBuffer: '',
      exited: new Promise((resolve) => child.once('close', () => resolve())),
    };
    // Known at once, so input and cancel that arrive before the 'spawn' event are not lost
    // (stdin buffers until the process exists; the pid is assigned synchronously).
    this.sessions.set(sessionId, entry);
    child.stdin!.on('error', () => { /* the child closed its stdin; input is dropped */ });
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined) {
        this.sessions.delete(sessionId);
        for (const t of entry.ladder) clearTimeout(t);
        const why = err.code === 'ENOENT' ? `${plan.command}: command not found on this device` : `could not start ${plan.command}: ${err.code ?? err.message}`;
        this.refuse(sessionId, new FabricError('spawn_failed', why));
      }
    });
    child.once('spawn', () => {
      this.emit('session.ack', sessionId, { sessionId, pid: child.pid ?? null });
      child.stdout!.setEncoding('utf8');
      child.stderr!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => this.stdout(entry, chunk));
      child.stderr!.on('data', (chunk: string) => this.emit('session.stderr', sessionId, { sessionId, data: chunk }));
      child.once('close', (code, signal) => {
        this.flushLines(entry);
        for (const t of entry.ladder) clearTimeout(t);
        this.sessions.delete(sessionId);
        this.emit('session.exit', sessionId, { sessionId, code, signal });
      });
    });
  }

  /** Write follow-up input to the session's stdin; unknown sessions are ignored. */
  input(sessionId: string, data: string, eof: boolean): void {
    const s = this.sessions.get(sessionId);
    if (!s || !s.child.stdin || s.child.stdin.destroyed) return;
    const framed = s.adapter.formatInput ? s.adapter.formatInput(data) : data;
    if (framed.length > 0) s.child.stdin.write(framed);
    if (eof) s.child.stdin.end();
  }

  /** Stop a session with the signal ladder; resolves when its process has exited. */
  cancel(sessionId: string): Promise<void> {
    const s = this.sessions.get(sessionId);
    if (!s) return Promise.resolve();
    if (s.ladder.length === 0) {
      this.signal(s, 'SIGINT');
      s.ladder.push(setTimeout(() => this.signal(s, 'SIGTERM'), this.graceMs));
      s.ladder.push(setTimeout(() => this.signal(s, 'SIGKILL'), this.graceMs * 2));
    }
    return s.exited;
  }

  /** Cancel everything (daemon shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.cancel(id)));
  }

  private stdout(entry: Running, chunk: string): void {
    const parse = entry.adapter.parseLine;
    if (!parse) {
      this.emit('session.stdout', entry.sessionId, { sessionId: entry.sessionId, data: chunk });
      return;
    }
    entry.lineBuffer += chunk;
    let nl: number;
    while ((nl = entry.lineBuffer.indexOf('\n')) >= 0) {
      const line = entry.lineBuffer.slice(0, nl);
      entry.lineBuffer = entry.lineBuffer.slice(nl + 1);
      this.line(entry, parse, line);
    }
  }

  private flushLines(entry: Running): void {
    if (entry.adapter.parseLine && entry.lineBuffer.length > 0) {
      this.line(entry, entry.adapter.parseLine, entry.lineBuffer);
      entry.lineBuffer = '';
    }
  }

  private line(entry: Running, parse: (line: string) => unknown[], line: string): void {
    if (line.trim() === '') return;
    let events;
    try {
      events = parse(line);
    } catch {
      events = [{ kind: 'raw', line }];
    }
    for (const event of events) {
      this.opts.emit({ corrId: entry.sessionId, type: 'session.event', direction: 'to_cloud', ts: this.now(), payload: { sessionId: entry.sessionId, event } } as Envelope);
    }
  }

  private signal(s: Running, sig: NodeJS.Signals): void {
    const pid = s.child.pid;
    if (pid === undefined || s.child.exitCode !== null || s.child.signalCode !== null) return;
    try {
      process.kill(-pid, sig); // the whole process group
    } catch {
      try { s.child.kill(sig); } catch { /* already gone */ }
    }
  }

  private refuse(sessionId: string, err: FabricError): void {
    this.emit('session.refuse', sessionId, { sessionId, code: err.code, message: err.message });
  }

  private emit<T extends Envelope['type']>(type: T, sessionId: string, payload: Extract<Envelope, { type: T }>['payload']): void {
    this.opts.emit({ corrId: sessionId, type, direction: 'to_cloud', ts: this.now(), payload } as Envelope);
  }

  private resolveCwd(cwd: string | null): string {
    if (cwd === null) {
      if (!existsSync(this.opts.workDir)) mkdirSync(this.opts.workDir, { recursive: true, mode: 0o700 });
      return this.opts.workDir;
    }
    if (!existsSync(cwd) || !statSync(cwd).isDirectory()) {
      throw new FabricError('bad_request', `working directory ${cwd} does not exist on this device`);
    }
    return cwd;
  }
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

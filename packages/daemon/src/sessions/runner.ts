import { spawn, type ChildProcess } from 'node:child_process';
import { basename, dirname } from 'node:path';
import {
  FabricError,
  isFabricError,
  newId,
  type Envelope,
  type HarnessName,
  type RunningSession,
  type SessionEvent,
  type SessionStartPayload,
  type Usage,
} from '@fabric/protocol';
import type {
  ApprovalDecision,
  ApprovalRequest,
  HarnessAdapter,
  HarnessDriver,
  McpWiring,
  SpawnPlan,
} from './harness/types.js';
import { endLeftovers, procStartTime, type Leftover, type ProcEntry, type ProcessRecord } from './procs/record.js';
import { checkWorkDir, conversationSession, rememberConversation, sessionWorkDir } from './sandbox/paths.js';
import { SANDBOX_READY_FD, unwrapExit, type Sandbox } from './sandbox/sandbox.js';
import { Redactor } from '../vault/redact.js';

export interface RunnerOptions {
  adapters: ReadonlyMap<HarnessName, HarnessAdapter>;
  allowlist: readonly string[];
  /**
   * Where sessions run when they name no cwd: each in its own
   * `<workDir>/<sessionId>` (0700), so sessions do not see each other's files.
   */
  workDir: string;
  /** The daemon's data dir: no session may work in it, below it, or in a directory containing it. */
  dataDir?: string;
  /**
   * Runs every turn inside a sandbox and decides which sessions may run when
   * none can be made. Absent: turns are spawned bare (embedding and tests).
   */
  sandbox?: Sandbox;
  /** Hand an envelope to the transport (sent now or queued while offline). */
  emit: (env: Envelope) => void;
  /** Wait between SIGINT, SIGTERM and SIGKILL when cancelling (default 3 s). */
  graceMs?: number;
  /** An approval nobody answers within this is denied (default 5 min). */
  approvalTimeoutMs?: number;
  /** The daemon's MCP server wiring for a session, if it offers one. */
  mcp?: (sessionId: string) => McpWiring | null;
  /**
   * Decrypt a session's credentials (name → plaintext). Rejects with a
   * FabricError (`credential_unavailable`) when the device cannot; the
   * session is then refused.
   */
  credentials?: (start: SessionStartPayload) => Promise<Map<string, Uint8Array>>;
  /** Told how each approval request was settled (for the ledger): by the owner, or denied when nobody answered or the session ended. */
  onApprovalSettled?: (
    sessionId: string,
    requestId: string,
    decision: ApprovalDecision,
    by: 'owner' | 'timeout' | 'session_gone',
  ) => void;
  /**
   * Where each running turn's process group is recorded (pid, start time),
   * so the next run of the daemon can end what a crash of this one left.
   */
  procs?: ProcessRecord;
  now?: () => number;
}

/** What the agent API needs to know about a running session. */
export interface SessionContext {
  harness: string;
  /** The directory the session works in (its cwd). */
  workDir: string;
  permissionMode: SessionStartPayload['permissionMode'];
}

interface Turn {
  child: ChildProcess;
  driver: HarnessDriver | null;
  lineBuffer: string;
  stdout: ReturnType<Redactor['stream']>;
  stderr: ReturnType<Redactor['stream']>;
  /** Spawned inside bubblewrap: its exit status needs unwrapping. */
  sandboxed: boolean;
  /** Its command runs with default signal handling (at once for a bare spawn; a sandbox says so on SANDBOX_READY_FD). */
  ready: boolean;
  /** A signal sent before `ready`, delivered once it is. */
  held: NodeJS.Signals | null;
}

interface Session {
  start: SessionStartPayload;
  adapter: HarnessAdapter;
  cwd: string;
  /** The cwd is a default work dir `<workDir>/<id>` (its conversations are remembered for resume). */
  ownWorkDir: boolean;
  startedAt: number;
  turn: Turn;
  /** Input that arrived while the CLI could not take it live: the next turn's prompt. */
  queue: string[];
  cancelled: boolean;
  harnessSessionId: string | null;
  /** The id last sent in `session.meta` (a resumed session's id is already known to the control plane). */
  reportedHarnessSessionId: string | null;
  ladder: ReturnType<typeof setTimeout>[];
  approvals: Map<string, { resolve: (d: ApprovalDecision) => void; timer: ReturnType<typeof setTimeout> }>;
  ended: Promise<void>;
  end: () => void;
  /** Credential values as environment variables (never argv, never disk). */
  secrets: Map<string, string>;
  redactor: Redactor;
}

/**
 * Runs sessions as child processes through harness adapters. A session is
 * one or more turns: input a CLI cannot take live is queued and becomes the
 * prompt of a resumed turn when the current one ends. Each child gets its own
 * process group so a cancel reaches everything it started: SIGINT, then
 * SIGTERM, then SIGKILL, `graceMs` apart. The exit envelope goes out only
 * after the last turn's stdout and stderr are drained.
 */
export class SessionRunner {
  private readonly sessions = new Map<string, Session>();
  /** Sessions whose credentials are being decrypted: input and cancel wait here. */
  private readonly pending = new Map<string, { cancelled: boolean; inputs: [string, boolean][] }>();
  private readonly graceMs: number;
  private readonly approvalTimeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: RunnerOptions) {
    this.graceMs = opts.graceMs ?? 3000;
    this.approvalTimeoutMs = opts.approvalTimeoutMs ?? 5 * 60 * 1000;
    this.now = opts.now ?? Date.now;
  }

  /** Sessions with a live process, for hello and heartbeats. */
  running(): RunningSession[] {
    return [...this.sessions.entries()].map(([sessionId, s]) => ({
      sessionId,
      pid: s.turn.child.pid ?? null,
      startedAt: s.startedAt,
    }));
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A running session's harness, work dir and permission mode; null when it is not running here. */
  context(sessionId: string): SessionContext | null {
    const s = this.sessions.get(sessionId);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- sessions started by older control planes omit it
    return s ? { harness: s.start.harness, workDir: s.cwd, permissionMode: s.start.permissionMode ?? 'ask' } : null;
  }

  /** Start a session; answers with `session.ack` or `session.refuse` through `emit`. */
  start(start: SessionStartPayload): void {
    const { sessionId } = start;
    if (this.sessions.has(sessionId) || this.pending.has(sessionId)) return; // a duplicate start (resent after a reconnect)
    try {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- sessions started by older control planes omit it
      this.opts.sandbox?.admit(start.byDeviceOwner ?? false);
    } catch (err) {
      this.refuse(sessionId, err as FabricError);
      return;
    }
    // Payloads parsed from the wire default `credentials` to []; direct callers may leave it out.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- sessions started by older control planes omit it
    if ((start.credentials ?? []).length === 0) {
      this.begin(start, new Map());
      return;
    }
    if (!this.opts.credentials) {
      this.refuse(sessionId, new FabricError('credential_unavailable', 'this device has no vault access'));
      return;
    }
    const waiting = { cancelled: false, inputs: [] as [string, boolean][] };
    this.pending.set(sessionId, waiting);
    this.opts.credentials(start).then(
      (plain) => {
        this.pending.delete(sessionId);
        const decoder = new TextDecoder();
        // The env var is a JS string; the decrypted buffers stay in the cache, which zeroes them on expiry.
        this.begin(start, new Map([...plain].map(([name, bytes]) => [name, decoder.decode(bytes)])));
        for (const [data, eof] of waiting.inputs) this.input(sessionId, data, eof);
        if (waiting.cancelled) void this.cancel(sessionId);
      },
      (err: unknown) => {
        this.pending.delete(sessionId);
        this.refuse(
          sessionId,
          isFabricError(err)
            ? err
            : new FabricError('credential_unavailable', "could not decrypt this session's credentials"),
        );
      },
    );
  }

  private begin(start: SessionStartPayload, secrets: Map<string, string>): void {
    const { sessionId } = start;
    let adapter: HarnessAdapter | undefined;
    let cwd: string;
    let plan: SpawnPlan;
    try {
      adapter = this.opts.adapters.get(start.harness);
      if (!adapter)
        throw new FabricError('harness_unavailable', `harness ${start.harness} is not supported by this device`);
      cwd = this.resolveCwd(start);
      plan = this.plan(adapter, start, secrets);
    } catch (err) {
      this.refuse(sessionId, isFabricError(err) ? err : new FabricError('spawn_failed', (err as Error).message));
      return;
    }
    let end!: () => void;
    const ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    const session: Session = {
      start,
      adapter,
      cwd,
      ownWorkDir: start.cwd === null,
      startedAt: this.now(),
      queue: [],
      cancelled: false,
      harnessSessionId: start.resume,
      reportedHarnessSessionId: start.resume,
      ladder: [],
      approvals: new Map(),
      ended,
      end,
      secrets,
      redactor: new Redactor(secrets),
      turn: undefined as unknown as Turn,
    };
    // Known at once, so input and cancel that arrive before the 'spawn' event are not lost
    // (stdin buffers until the process exists; the pid is assigned synchronously).
    this.sessions.set(sessionId, session);
    this.spawnTurn(session, plan, true);
  }

  /** Follow-up input: live when the harness takes it, else queued as the next turn's prompt. */
  input(sessionId: string, data: string, eof: boolean): void {
    const waiting = this.pending.get(sessionId);
    if (waiting) {
      waiting.inputs.push([data, eof]);
      return;
    }
    const s = this.sessions.get(sessionId);
    if (!s || s.cancelled) return;
    const stdin = s.turn.child.stdin;
    if (!s.turn.driver) {
      if (stdin && !stdin.destroyed && data.length > 0) stdin.write(data);
    } else if (data.length > 0 && !s.turn.driver.input(data)) {
      s.queue.push(data);
      this.event(sessionId, {
        kind: 'status',
        status: 'input_queued',
        detail: 'the harness takes input between turns; it will run when this turn ends',
      });
    }
    if (eof && stdin && !stdin.destroyed) stdin.end();
  }

  /** Stop a session with the signal ladder (rungs `graceMs` apart); resolves when it has ended. */
  cancel(sessionId: string, graceMs = this.graceMs): Promise<void> {
    const waiting = this.pending.get(sessionId);
    if (waiting) waiting.cancelled = true;
    const s = this.sessions.get(sessionId);
    if (!s) return Promise.resolve();
    s.cancelled = true;
    s.queue = [];
    if (s.ladder.length === 0) {
      this.signal(s.turn, 'SIGINT');
      s.ladder.push(setTimeout(() => this.signal(s.turn, 'SIGTERM'), graceMs));
      s.ladder.push(setTimeout(() => this.signal(s.turn, 'SIGKILL'), graceMs * 2));
    }
    return s.ended;
  }

  /**
   * Cancel everything (daemon shutdown), on a short ladder: SIGINT, then
   * SIGTERM and SIGKILL 400 ms apart (at most `graceMs`), so a daemon told
   * to stop is gone within about a second whatever its sessions do.
   */
  async stopAll(): Promise<void> {
    const grace = Math.min(this.graceMs, 400);
    await Promise.all([...this.sessions.keys()].map((id) => this.cancel(id, grace)));
  }

  /**
   * End the processes a previous run of the daemon recorded and left
   * running (see endLeftovers), and report each of their sessions as ended
   * by a signal: SIGTERM when that sufficed, else SIGKILL (also for those
   * that were already gone, e.g. a sandbox that died with its daemon).
   * Resolves with what became of each.
   */
  async endLeftovers(entries: readonly ProcEntry[], graceMs = Math.min(this.graceMs, 1000)): Promise<Leftover[]> {
    const ended = await endLeftovers(
      entries.filter((e) => !this.sessions.has(e.sessionId)),
      graceMs,
    );
    for (const l of ended) {
      this.emit('session.exit', l.sessionId, {
        sessionId: l.sessionId,
        code: null,
        signal: l.outcome === 'terminated' ? 'SIGTERM' : 'SIGKILL',
      });
    }
    return ended;
  }

  /**
   * Ask the owner whether a session may use a tool. Emits
   * `session.approval_request`; resolves with the owner's answer, or `deny`
   * when the session is unknown, ends, or nobody answers in time.
   */
  requestApproval(sessionId: string, req: ApprovalRequest): Promise<ApprovalDecision> {
    const s = this.sessions.get(sessionId);
    if (!s) return Promise.resolve({ decision: 'deny', reason: 'no such session on this device' });
    const requestId = newId('apr');
    const expiresAt = this.now() + this.approvalTimeoutMs;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        s.approvals.delete(requestId);
        const d: ApprovalDecision = { decision: 'deny', reason: 'nobody answered in time' };
        this.opts.onApprovalSettled?.(sessionId, requestId, d, 'timeout');
        resolve(d);
      }, this.approvalTimeoutMs);
      s.approvals.set(requestId, { resolve, timer });
      this.opts.emit({
        corrId: sessionId,
        type: 'session.approval_request',
        direction: 'to_cloud',
        ts: this.now(),
        payload: {
          sessionId,
          requestId,
          tool: req.tool.slice(0, 256),
          summary: s.redactor.redact(req.summary).slice(0, 2000),
          input: s.redactor.redactValue(req.input ?? null),
          expiresAt,
        },
      });
    });
  }

  /** The owner's answer to an approval request; unknown or expired requests are ignored. */
  approve(sessionId: string, requestId: string, decision: ApprovalDecision): void {
    const pending = this.sessions.get(sessionId)?.approvals.get(requestId);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.sessions.get(sessionId)!.approvals.delete(requestId);
    this.opts.onApprovalSettled?.(sessionId, requestId, decision, 'owner');
    pending.resolve(decision);
  }

  private plan(adapter: HarnessAdapter, start: SessionStartPayload, secrets: ReadonlyMap<string, string>): SpawnPlan {
    return adapter.plan(start, {
      allowlist: this.opts.allowlist,
      baseEnv: stringEnv(process.env),
      credentials: Object.fromEntries(secrets),
      mcp: this.opts.mcp?.(start.sessionId) ?? null,
    });
  }

  private spawnTurn(s: Session, plan: SpawnPlan, first: boolean, start: SessionStartPayload = s.start): void {
    const sessionId = s.start.sessionId;
    // PWD must name the session's directory: some CLIs (OpenCode) trust it over their real cwd.
    const env = { ...plan.env, PWD: s.cwd };
    let child: ChildProcess;
    let sandboxed = false;
    try {
      const run = this.opts.sandbox?.wrap(plan.command, plan.args, s.cwd, plan.env.PATH) ?? {
        command: plan.command,
        args: plan.args,
        sandboxed: false,
      };
      sandboxed = run.sandboxed;
      child = spawn(run.command, run.args, {
        cwd: s.cwd,
        env,
        stdio: sandboxed ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (err) {
      // spawn throws synchronously on input it cannot pass to the OS (a NUL byte in argv, env or cwd):
      // that is this session's failure, never the daemon's.
      const failure = isFabricError(err) ? err : spawnFailure(err as NodeJS.ErrnoException, plan.command);
      if (first) {
        this.finish(s);
        this.refuse(sessionId, failure);
      } else {
        this.event(sessionId, { kind: 'error', message: failure.message });
        this.exit(s, null, null);
      }
      return;
    }
    const turn: Turn = {
      child,
      driver: null,
      lineBuffer: '',
      stdout: s.redactor.stream(),
      stderr: s.redactor.stream(),
      sandboxed,
      ready: !sandboxed,
      held: null,
    };
    if (sandboxed) {
      const ready = child.stdio[SANDBOX_READY_FD] as NodeJS.ReadableStream | null;
      const go = () => {
        if (turn.ready) return;
        turn.ready = true;
        if (turn.held) this.signal(turn, turn.held);
      };
      ready?.once('data', go);
      ready?.once('end', go);
      ready?.on('error', () => {
        /* the sandbox ended */
      });
    }
    s.turn = turn;
    if (s.adapter.driver) {
      turn.driver = s.adapter.driver(
        {
          event: (e) => this.event(sessionId, e),
          meta: (m) => this.meta(s, m),
          write: (data) => {
            if (child.stdin && !child.stdin.destroyed) child.stdin.write(data);
          },
          closeStdin: () => {
            if (child.stdin && !child.stdin.destroyed) child.stdin.end();
          },
          requestApproval: (req) => this.requestApproval(sessionId, req),
        },
        start,
      );
    }
    child.stdin!.on('error', () => {
      /* the child closed its stdin; input is dropped */
    });
    if (plan.stdin) child.stdin!.write(plan.stdin);
    if (plan.closeStdin) child.stdin!.end();

    child.once('error', (err: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return;
      const why =
        err.code === 'ENOENT'
          ? `${plan.command}: command not found on this device`
          : `could not start ${plan.command}: ${err.code ?? err.message}`;
      if (first) {
        this.finish(s);
        this.refuse(sessionId, new FabricError('spawn_failed', why));
      } else {
        this.event(sessionId, { kind: 'error', message: why });
        this.exit(s, null, null);
      }
    });
    child.once('spawn', () => {
      const pid = child.pid;
      const startTime = pid === undefined ? null : procStartTime(pid);
      // detached: the child leads its own process group (pgid = pid).
      if (pid !== undefined && startTime !== null)
        this.opts.procs?.add({ sessionId, pid, pgid: pid, startTime, sandboxed });
      if (first) this.emit('session.ack', sessionId, { sessionId, pid: child.pid ?? null });
      if (plan.harnessSessionId) this.meta(s, { harnessSessionId: plan.harnessSessionId });
      child.stdout!.setEncoding('utf8');
      child.stderr!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => this.stdout(s, turn, chunk));
      child.stderr!.on('data', (chunk: string) => this.output(s, 'session.stderr', turn.stderr.push(chunk)));
      child.once('close', (code, signal) => {
        if (pid !== undefined) this.opts.procs?.remove(sessionId, pid);
        const status = turn.sandboxed ? unwrapExit(code, signal) : { code, signal };
        this.turnEnded(s, turn, status.code, status.signal);
      });
    });
  }

  private turnEnded(s: Session, turn: Turn, code: number | null, signal: NodeJS.Signals | null): void {
    this.flushLines(s, turn);
    const sessionId = s.start.sessionId;
    if (!s.cancelled && code === 0 && s.queue.length > 0) {
      const resume = s.harnessSessionId;
      const prompt = s.queue.splice(0).join('\n\n');
      if (resume) {
        let plan: SpawnPlan;
        try {
          plan = this.plan(s.adapter, { ...s.start, prompt, resume }, s.secrets);
        } catch (err) {
          this.event(sessionId, { kind: 'error', message: `could not resume: ${(err as Error).message}` });
          this.exit(s, code, signal);
          return;
        }
        this.event(sessionId, { kind: 'status', status: 'turn_started', detail: 'resuming with queued input' });
        this.spawnTurn(s, plan, false, { ...s.start, prompt, resume });
        return;
      }
      this.event(sessionId, {
        kind: 'error',
        message: 'queued input was not delivered: the harness reported no session id to resume',
      });
    }
    this.exit(s, code, signal);
  }

  private exit(s: Session, code: number | null, signal: string | null): void {
    this.finish(s);
    this.emit('session.exit', s.start.sessionId, { sessionId: s.start.sessionId, code, signal });
  }

  /** Forget a session: its timers, and any approval still waiting (denied). */
  private finish(s: Session): void {
    for (const t of s.ladder) clearTimeout(t);
    for (const [requestId, pending] of s.approvals) {
      clearTimeout(pending.timer);
      const d: ApprovalDecision = { decision: 'deny', reason: 'session ended' };
      this.opts.onApprovalSettled?.(s.start.sessionId, requestId, d, 'session_gone');
      pending.resolve(d);
    }
    s.approvals.clear();
    this.sessions.delete(s.start.sessionId);
    s.end();
  }

  private stdout(s: Session, turn: Turn, chunk: string): void {
    if (!turn.driver) {
      this.output(s, 'session.stdout', turn.stdout.push(chunk));
      return;
    }
    turn.lineBuffer += chunk;
    let nl: number;
    while ((nl = turn.lineBuffer.indexOf('\n')) >= 0) {
      const line = turn.lineBuffer.slice(0, nl).replace(/\r$/, '');
      turn.lineBuffer = turn.lineBuffer.slice(nl + 1);
      this.line(s, turn.driver, line);
    }
  }

  private flushLines(s: Session, turn: Turn): void {
    this.output(s, 'session.stdout', turn.stdout.flush());
    this.output(s, 'session.stderr', turn.stderr.flush());
    if (!turn.driver) return;
    if (turn.lineBuffer.length > 0) {
      this.line(s, turn.driver, turn.lineBuffer);
      turn.lineBuffer = '';
    }
    try {
      turn.driver.end?.();
    } catch {
      /* a driver bug must not cost the exit */
    }
  }

  private line(s: Session, driver: HarnessDriver, line: string): void {
    if (line.trim() === '') return;
    try {
      driver.line(line);
    } catch {
      // A driver bug must not cost the line or the session.
      this.event(s.start.sessionId, { kind: 'raw', line });
    }
  }

  private output(s: Session, type: 'session.stdout' | 'session.stderr', data: string): void {
    if (data.length > 0) this.emit(type, s.start.sessionId, { sessionId: s.start.sessionId, data });
  }

  private event(sessionId: string, event: SessionEvent): void {
    const redactor = this.sessions.get(sessionId)?.redactor;
    this.emit('session.event', sessionId, { sessionId, event: redactor ? redactor.redactValue(event) : event });
  }

  /** Report metadata; a harness session id already reported is not sent again. */
  private meta(s: Session, m: { usage?: Usage; harnessSessionId?: string }): void {
    const payload: Extract<Envelope, { type: 'session.meta' }>['payload'] = { sessionId: s.start.sessionId };
    if (m.usage) payload.usage = m.usage;
    if (m.harnessSessionId && m.harnessSessionId !== s.reportedHarnessSessionId) {
      payload.harnessSessionId = m.harnessSessionId;
      s.reportedHarnessSessionId = m.harnessSessionId;
    }
    if (m.harnessSessionId && m.harnessSessionId !== s.harnessSessionId && s.ownWorkDir) {
      try {
        rememberConversation(dirname(s.cwd), s.start.harness, m.harnessSessionId, basename(s.cwd));
      } catch {
        /* resuming without a cwd will start in a fresh work dir */
      }
    }
    if (m.harnessSessionId) s.harnessSessionId = m.harnessSessionId;
    if (payload.usage || payload.harnessSessionId) this.emit('session.meta', s.start.sessionId, payload);
  }

  /** Signal a turn's whole process group; a SIGINT or SIGTERM waits until a sandboxed command can receive it. */
  private signal(turn: Turn, sig: NodeJS.Signals): void {
    if (!turn.ready && sig !== 'SIGKILL') {
      turn.held = sig;
      return;
    }
    const child = turn.child;
    const pid = child.pid;
    if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-pid, sig); // the whole process group
    } catch {
      try {
        child.kill(sig);
      } catch {
        /* already gone */
      }
    }
  }

  private refuse(sessionId: string, err: FabricError): void {
    this.emit('session.refuse', sessionId, { sessionId, code: err.code, message: err.message });
  }

  private emit<T extends Envelope['type']>(
    type: T,
    sessionId: string,
    payload: Extract<Envelope, { type: T }>['payload'],
  ): void {
    this.opts.emit({ corrId: sessionId, type, direction: 'to_cloud', ts: this.now(), payload } as Envelope);
  }

  /**
   * A session's cwd: the one it names, if allowed (see checkWorkDir), else its
   * own `<workDir>/<sessionId>`; a resumed conversation goes back to the work
   * dir it started in.
   */
  private resolveCwd(start: SessionStartPayload): string {
    if (start.cwd === null) {
      const base = this.opts.workDir;
      const earlier = start.resume ? conversationSession(base, start.harness, start.resume) : null;
      return sessionWorkDir(base, earlier ?? start.sessionId);
    }
    const dir = checkWorkDir(start.cwd, this.opts.dataDir ?? null);
    // Another person's session works only in its own dir: a chosen one is bound
    // read-write into the sandbox, and could be the owner's project or config.
    if (!start.byDeviceOwner) {
      throw new FabricError(
        'path_not_allowed',
        `working directory ${start.cwd.slice(0, 256)} is not allowed: only the device owner's sessions choose one; others run in their own`,
      );
    }
    return dir;
  }
}

/** What a synchronous throw from `spawn` means for the session. */
function spawnFailure(err: NodeJS.ErrnoException, command: string): FabricError {
  if (err.code === 'ERR_INVALID_ARG_VALUE' || err.code === 'ERR_INVALID_ARG_TYPE') {
    return new FabricError(
      'bad_request',
      'the command, its arguments, its working directory or its environment hold a NUL byte',
    );
  }
  return new FabricError('spawn_failed', `could not start ${command.slice(0, 64)}: ${err.code ?? err.message}`);
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

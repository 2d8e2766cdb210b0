import { join } from 'node:path';
import type { Envelope, Labels, SessionStartPayload } from '@fabric/protocol';
import { auditOrLog, contextSlot, type DaemonModule, type KernelContext } from '../kernel/index.js';
import { Capabilities } from './capabilities.js';
import { createOpenClawHarness } from './harness/openclaw/adapter.js';
import { defaultAdapters } from './harness/registry.js';
import type { McpWiring } from './harness/types.js';
import { ProcessRecord, procFilePath } from './procs/record.js';
import { SessionRunner } from './runner.js';
import { detectSandbox, Sandbox, type SandboxMode } from './sandbox/sandbox.js';

export interface SessionsModuleOptions {
  /** The daemon's data dir: sessions work under `<dataDir>/work` and never see the rest of it. */
  dataDir: string;
  allowlist: readonly string[];
  labels: Labels;
  /** Wait between SIGINT, SIGTERM and SIGKILL when cancelling (default 3 s). */
  graceMs?: number | undefined;
  sandbox: {
    /** `auto`: sandbox where possible, else only the owner's sessions run; `required`: never unisolated. */
    mode: SandboxMode;
    /** Where bubblewrap is (default: `bwrap` on PATH). */
    bwrapPath?: string | undefined;
    /** The agent socket, bound into every sandbox; null when the daemon has none. */
    agentSocket: string | null;
    /** Paths every session may read besides its work dir (the daemon's install, Node). */
    readOnly: readonly string[];
    /** Paths bound read-write into every sandbox. */
    writable: readonly string[];
  };
  /** Decrypt a session's credentials; rejects `credential_unavailable` (the session is refused). */
  credentials: (start: SessionStartPayload) => Promise<Map<string, Uint8Array>>;
  /** The daemon's MCP server wiring for a session, when the daemon has an agent socket. */
  mcp?: ((sessionId: string) => McpWiring | null) | undefined;
  /** A session ended or was refused (its agent-API token goes). */
  onEnded?: (sessionId: string) => void;
}

/** The sessions module, with what the composition reads from it. */
export interface SessionsModule extends DaemonModule {
  readonly runner: SessionRunner;
  /** Whether sessions run sandboxed, found when the module was made: `reason` says why not and what to do. */
  readonly isolation: { kind: 'bwrap' | 'none'; mode: SandboxMode; reason: string | null };
  /** What this machine can run, for hello, heartbeats and the agent card. */
  readonly capabilities: Capabilities;
}

/**
 * Agent sessions: the runner and one harness adapter per agent CLI
 * (`harness/<name>/`), each turn in a bubblewrap sandbox (`sandbox/`), its
 * process group recorded (`procs/`) so the next start ends what a crash
 * left running. Handles the control plane's `session.*` envelopes, and puts
 * each session's start, refusal, exit and approval requests on the record.
 */
export function sessionsModule(opts: SessionsModuleOptions): SessionsModule {
  const ctx = contextSlot('sessions');
  const { dataDir } = opts;
  const adapters = defaultAdapters();
  // OpenClaw takes MCP servers from its config file only: the daemon writes one that includes the user's.
  const openclawDir = join(dataDir, 'openclaw');
  adapters.set('openclaw', createOpenClawHarness({ mcpConfigDir: openclawDir }));
  const status = detectSandbox(opts.sandbox.bwrapPath ? { bwrapPath: opts.sandbox.bwrapPath } : {});
  const sandbox = new Sandbox({
    status,
    mode: opts.sandbox.mode,
    dataDir,
    agentSocket: opts.sandbox.agentSocket,
    readOnly: [openclawDir, ...opts.sandbox.readOnly],
    writable: opts.sandbox.writable,
  });
  const procs = new ProcessRecord(procFilePath(dataDir));
  const runner: SessionRunner = new SessionRunner({
    procs,
    adapters,
    allowlist: opts.allowlist,
    credentials: opts.credentials,
    workDir: join(dataDir, 'work'),
    dataDir,
    sandbox,
    emit: (env) => {
      if (env.type === 'session.exit' || env.type === 'session.refuse') opts.onEnded?.(env.payload.sessionId);
      const c = ctx.get();
      auditEnvelope(c, env, runner);
      c.emit(env);
    },
    onApprovalSettled: (sessionId, requestId, d, by) =>
      auditOrLog(ctx.get(), by === 'owner' ? 'owner' : 'daemon', 'approval.decision', {
        sessionId,
        requestId,
        decision: d.decision,
        reason: d.reason ?? null,
        by,
      }),
    ...(opts.mcp ? { mcp: opts.mcp } : {}),
    ...(opts.graceMs === undefined ? {} : { graceMs: opts.graceMs }),
  });
  return {
    name: 'sessions',
    runner,
    isolation: { kind: sandbox.isolation, mode: sandbox.mode, reason: sandbox.reason },
    capabilities: new Capabilities(adapters, opts.labels, opts.allowlist, () => runner.size, sandbox.isolation),
    async start(c) {
      ctx.set(c);
      if (!status.available) c.log.warn(`isolation: none — ${status.reason}`);
      // What a previous run that crashed left running is read before this run starts anything.
      const leftovers = procs.takeLeftovers();
      // Ended before the link connects, so their exits are in the outbox when hello goes out.
      const ended = await runner.endLeftovers(leftovers);
      for (const l of ended) {
        const what =
          l.outcome === 'gone'
            ? 'was already gone'
            : l.outcome === 'terminated'
              ? 'ended with SIGTERM'
              : 'ended with SIGKILL';
        c.log.warn(`session ${l.sessionId}: its process ${l.pid}, left by a previous run of the daemon, ${what}`);
        auditOrLog(c, 'daemon', 'session.leftover', {
          sessionId: l.sessionId,
          pid: l.pid,
          sandboxed: l.sandboxed,
          outcome: l.outcome,
          reason: 'left running by a previous run of the daemon',
        });
      }
    },
    async stop() {
      await runner.stopAll();
      procs.close();
    },
    envelopes: {
      'session.start': (env) => runner.start(env.payload),
      'session.input': (env) => runner.input(env.payload.sessionId, env.payload.data, env.payload.eof),
      'session.cancel': (env) => void runner.cancel(env.payload.sessionId),
      'session.approval': (env) =>
        runner.approve(env.payload.sessionId, env.payload.requestId, {
          decision: env.payload.decision,
          ...(env.payload.reason ? { reason: env.payload.reason } : {}),
        }),
    },
  };
}

/** The ledger's view of what a session does: starts, refusals, exits, approval requests. */
function auditEnvelope(ctx: KernelContext, env: Envelope, runner: SessionRunner): void {
  switch (env.type) {
    case 'session.ack': {
      const s = runner.context(env.payload.sessionId);
      auditOrLog(ctx, 'control-plane', 'session.start', {
        sessionId: env.payload.sessionId,
        pid: env.payload.pid,
        harness: s?.harness ?? null,
        workDir: s?.workDir ?? null,
        permissionMode: s?.permissionMode ?? null,
      });
      return;
    }
    case 'session.refuse':
      auditOrLog(ctx, 'daemon', 'session.refuse', { sessionId: env.payload.sessionId, code: env.payload.code });
      return;
    case 'session.exit':
      auditOrLog(ctx, 'daemon', 'session.exit', {
        sessionId: env.payload.sessionId,
        code: env.payload.code,
        signal: env.payload.signal,
      });
      return;
    case 'session.approval_request':
      auditOrLog(ctx, `session:${env.payload.sessionId}`, 'approval.request', {
        sessionId: env.payload.sessionId,
        requestId: env.payload.requestId,
        tool: env.payload.tool,
        summary: env.payload.summary,
      });
      return;
    default:
      return;
  }
}

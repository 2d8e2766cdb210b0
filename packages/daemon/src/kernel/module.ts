import type { Sqlite } from '@fabric/node';
import type { Envelope, EnvelopeOf, EnvelopeType, LedgerEventKind, LedgerPayload } from '@fabric/protocol';
import type { Ledger } from '../audit/ledger/store.js';
import type { Records } from '../audit/records/store.js';
import type { ToolSummary } from '../agent/tools.js';
import type { ApprovalDecision, ApprovalRequest } from '../sessions/harness/types.js';
import type { SessionContext } from '../sessions/runner.js';
import type { ToolHandler, ToolSpec } from '../agent/tools.js';

/**
 * A capability of the daemon: a folder under `modules/` (or, for the parts the
 * device is built around, `sessions/`, `vault/`, `audit/`), one line in the
 * composition (`modules/index.ts`, `device.ts`). The kernel calls `start`
 * once, in composition order, then serves `tools` and hands the module the
 * envelopes it handles; it calls `stop` once, in reverse order.
 */
export interface DaemonModule {
  /** Lower-case, unique in the composition; names its stores and its log lines. */
  readonly name: string;
  /**
   * Open what the module needs. Throwing aborts the daemon's start: the
   * kernel stops the modules started before this one, in reverse, and
   * rethrows. Tools are not callable before `start` resolves.
   */
  start(ctx: KernelContext): void | Promise<void>;
  /** Release what `start` opened. Runs once, only after a `start` that resolved; what it throws is logged, not rethrown. */
  stop?(): void | Promise<void>;
  /** The module's agent tools, each schema beside its handler (see `tool`). */
  readonly tools?: readonly ModuleTool[];
  /**
   * Envelopes from the control plane this module handles, by type; one module
   * per type. Called only while the kernel runs, in the order they arrive. A
   * handler that throws costs that envelope only: the link logs it (and
   * refuses the session a `session.start` was for).
   */
  readonly envelopes?: EnvelopeHandlers;
}

/** Handlers for envelopes from the control plane, by type. */
export type EnvelopeHandlers = { readonly [T in EnvelopeType]?: (env: EnvelopeOf<T>) => void };

/** A tool's schema and handler, side by side. */
export interface ModuleTool {
  readonly spec: ToolSpec;
  readonly handler: ToolHandler<ToolSpec>;
}

/** Pair a tool's schema with its handler; the handler's input and answer are typed from the schema. */
export function tool<S extends ToolSpec>(spec: S, handler: ToolHandler<S>): ModuleTool {
  return { spec, handler: handler };
}

/** What the kernel gives every module. */
export interface KernelContext {
  /** The daemon's data directory (0700); a module keeps its files under it. */
  readonly dataDir: string;
  readonly clock: { now(): number };
  readonly log: { info(message: string): void; warn(message: string): void };
  /**
   * Append to the device's hash-chained ledger and return the event's seq.
   * Throws when it cannot be written: an action that must be on the record
   * does not happen unrecorded.
   */
  audit<K extends LedgerEventKind>(actor: string, kind: K, payload: LedgerPayload<K>): { seq: number };
  /**
   * Hand an envelope to the control plane: sent now, or after the next hello
   * while offline; session envelopes are kept until the control plane has
   * stored them (see `link/client.ts`). Never throws.
   */
  emit(env: Envelope): void;
  /** The ledger, to read (modules append through `audit`). */
  readonly ledger: Pick<Ledger, 'list' | 'head'>;
  /** Receipts and incidents (`agent.db`), the audit trail people read. */
  readonly records: Records;
  /** Every tool the composition serves (for the agent card); complete once the kernel has started. */
  toolList(): ToolSummary[];
  /** A running session's work dir and permission mode; null when it does not run here. */
  session(sessionId: string): SessionContext | null;
  /** Ask the owner on a session's behalf: the same path as a harness's permission requests. */
  approve(sessionId: string, req: ApprovalRequest): Promise<ApprovalDecision>;
  /**
   * Open `<dataDir>/<name>.db` (0600, WAL; see `openSqlite`) and bring it up
   * to `migrations` (see `migrateSqlite`). The kernel closes it after the
   * module stops. Throws `unsupported` for a file a newer daemon wrote.
   */
  db(name: string, migrations: readonly string[]): Sqlite;
}

/**
 * Where a module keeps the context `start` gave it: `get` throws (naming the
 * module) when a handler runs before `start`, which the kernel never allows.
 */
export function contextSlot(module: string): {
  readonly set: (ctx: KernelContext) => void;
  readonly get: () => KernelContext;
} {
  let held: KernelContext | null = null;
  return {
    set: (ctx) => {
      held = ctx;
    },
    get: () => {
      if (!held) throw new Error(`the ${module} module has not started`);
      return held;
    },
  };
}

/**
 * Append to the ledger through `ctx.audit`, logging (not throwing) a failure:
 * for what is recorded about work that must not stop because the ledger
 * cannot be written (a session's start and exit, a credential read).
 */
export function auditOrLog<K extends LedgerEventKind>(
  ctx: Pick<KernelContext, 'audit' | 'log'>,
  actor: string,
  kind: K,
  payload: LedgerPayload<K>,
): void {
  try {
    ctx.audit(actor, kind, payload);
  } catch (err) {
    ctx.log.warn(`ledger: could not record ${kind}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

import { FabricError, type LedgerEventsInput } from '@fabric/protocol';
import { callerActor, type AgentCaller } from './protocol.js';

/**
 * What a session may do with a tool; the owner (`agent.token`) may use every
 * tool fully.
 * - `allowed`: the same as the owner (mutations still need approval when destructive).
 * - `refused`: `forbidden`, before the input is read or anything is recorded.
 * - `own`: allowed, narrowed to the session's own records (see `ownLedgerQuery`, `ownSource`).
 */
export type SessionAccess = 'allowed' | 'refused' | 'own';

/**
 * The one table of what sessions may not do, or do only for themselves.
 * Every tool not named here is `allowed`.
 *
 * - `backup_create`, `backup_restore`: a backup copies the whole ledger,
 *   memory and records (a session could read them from it); a restore
 *   rewrites them. The owner's alone.
 * - `ledger_events`: a session reads only the events it caused itself
 *   (actor `session:<id>`); other sessions' and the owner's stay hidden.
 * - `memory_store`, `memory_ingest`: what a session stores is recorded with
 *   source `session:<id>`, whatever source it names, so nothing a session
 *   writes can pass for the owner's word.
 */
export const SESSION_ACCESS: Readonly<Record<string, SessionAccess>> = {
  backup_create: 'refused',
  backup_restore: 'refused',
  ledger_events: 'own',
  memory_store: 'own',
  memory_ingest: 'own',
};

/** What a session may do with `tool` (`allowed` unless the table says otherwise). */
export function sessionAccess(tool: string): SessionAccess {
  return SESSION_ACCESS[tool] ?? 'allowed';
}

/** Throws `forbidden` when `caller` is a session and `tool` is the owner's alone. */
export function assertMayCall(caller: AgentCaller, tool: string): void {
  if (caller.kind === 'session' && sessionAccess(tool) === 'refused') {
    throw new FabricError('forbidden', `${tool} is the device owner's alone; a session may not use it`);
  }
}

/**
 * A ledger query as `caller` may run it: the owner's unchanged; a session's
 * limited to events whose actor is that session. Throws `forbidden` when a
 * session names another actor.
 */
export function ownLedgerQuery<Q extends LedgerEventsInput>(caller: AgentCaller, query: Q): Q {
  if (caller.kind === 'owner') return query;
  const self = callerActor(caller);
  if (query.actor !== undefined && query.actor !== self) {
    throw new FabricError('forbidden', `a session reads only its own ledger events (actor ${self})`);
  }
  return { ...query, actor: self };
}

/** The source a memory is recorded with: a session is always its own source; the owner's claim (or `owner`) stands. */
export function ownSource(caller: AgentCaller, claimed: string | undefined): string {
  return caller.kind === 'session' ? callerActor(caller) : (claimed ?? callerActor(caller));
}

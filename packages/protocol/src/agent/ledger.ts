import { z } from 'zod';
import { ledgerPayloadSchema, type LedgerEvent, type LedgerEventKind, type LedgerEventOf } from '../ledger-events.js';

/**
 * The device ledger as the agent API shows it: an append-only, hash-chained
 * log of every mutation made through the daemon (and every session start and
 * exit, approval, vault access and pairing), each with its actor.
 */

const hashSchema = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * One ledger event exactly as stored (`ledger.db`'s `events` table), as the
 * hash chain and `verifyLedger` read it. `payload` is the JSON text exactly
 * as it was hashed. `hash` = SHA-256 over a domain tag and `prevHash, seq,
 * ts, actor, kind, payload`, each length-prefixed; `prevHash` of event 1 is
 * 64 zeros. A stored kind and payload are whatever the writing daemon wrote:
 * read them as a {@link LedgerEntry}.
 */
export const ledgerRowSchema = z.object({
  seq: z.number().int().positive(),
  /** When it was appended (ms since the epoch). */
  ts: z.number().int().nonnegative(),
  /** Who did it: `owner`, `daemon`, `control-plane`, `session:<id>`. */
  actor: z.string(),
  /** What happened, dotted: `session.start`, `vault.access`, … */
  kind: z.string(),
  payload: z.string(),
  prevHash: hashSchema,
  hash: hashSchema,
});
export type LedgerRow = z.infer<typeof ledgerRowSchema>;

/** Where an event sits in the chain: everything a row holds but its kind and payload. */
export const ledgerStampSchema = ledgerRowSchema.omit({ kind: true, payload: true });
export type LedgerStamp = z.infer<typeof ledgerStampSchema>;

/**
 * A stored event that `ledgerEventSchema` does not describe: a kind it
 * does not name, or a payload outside its kind's schema (written by an older
 * or newer daemon, or edited in the file). It is kept as stored: `payload`
 * is the stored JSON parsed, or the stored text itself when that is not JSON.
 */
export interface LegacyLedgerEvent {
  kind: string;
  payload: unknown;
  legacy: true;
}

/**
 * One ledger event as read back: its place in the chain and either a typed
 * event (narrow it with {@link ledgerEntryIs}) or, marked `legacy: true`,
 * one outside the union. Reading never fails on what a file holds.
 */
export type LedgerEntry = LedgerStamp & (LedgerEvent | LegacyLedgerEvent);
/** A typed entry of one kind. */
export type LedgerEntryOf<K extends LedgerEventKind> = LedgerStamp & LedgerEventOf<K>;

const entryShape = {
  seq: ledgerRowSchema.shape.seq,
  ts: ledgerRowSchema.shape.ts,
  actor: ledgerRowSchema.shape.actor,
  kind: z.string(),
  // Passed through as it is (never rebuilt by a schema), so it serialises to the text that was hashed.
  payload: z.unknown(),
  prevHash: hashSchema,
  hash: hashSchema,
};

/**
 * {@link LedgerEntry} on the wire: a typed entry's payload is checked
 * against its kind's schema; a legacy entry's is anything. Payloads pass
 * through unchanged.
 */
export const ledgerEntrySchema = z.union([
  z.object(entryShape).refine((e) => ledgerPayloadSchema(e.kind)?.safeParse(e.payload).success === true, {
    error: 'not an event of a known kind with its payload (mark it legacy)',
    path: ['payload'],
  }),
  z.object({ ...entryShape, legacy: z.literal(true) }),
  // The refinement ties kind to payload, which the inferred type cannot say.
]) as unknown as z.ZodType<LedgerEntry>;

/** Whether `entry` is a typed event of `kind` (a legacy entry never is, whatever its kind says). */
export function ledgerEntryIs<K extends LedgerEventKind>(entry: LedgerEntry, kind: K): entry is LedgerEntryOf<K> {
  return entry.kind === kind && !('legacy' in entry);
}

/**
 * Read a stored row: a typed entry when its kind is known and its payload
 * parses with that kind's schema, else a legacy one. Never throws. A typed
 * entry's payload is the stored JSON parsed (so for every event a daemon
 * wrote, `JSON.stringify(payload)` gives back the text the hash covers).
 */
export function ledgerEntryFromRow(row: LedgerRow): LedgerEntry {
  const stamp = { seq: row.seq, ts: row.ts, actor: row.actor };
  const chain = { prevHash: row.prevHash, hash: row.hash };
  let value: unknown;
  try {
    value = JSON.parse(row.payload);
  } catch {
    return { ...stamp, kind: row.kind, payload: row.payload, ...chain, legacy: true };
  }
  if (ledgerPayloadSchema(row.kind)?.safeParse(value).success) {
    // Checked against the kind's schema just above: the union is what the compiler cannot follow.
    return { ...stamp, kind: row.kind, payload: value, ...chain } as LedgerEntry;
  }
  return { ...stamp, kind: row.kind, payload: value, ...chain, legacy: true };
}

/** The newest event's seq and hash; null while the ledger is empty. */
export const ledgerHeadSchema = z.object({ seq: z.number().int().positive(), hash: hashSchema });
export type LedgerHead = z.infer<typeof ledgerHeadSchema>;

/** Most events one `ledger.events` call answers. */
export const LEDGER_EVENTS_MAX_LIMIT = 1000;

/**
 * `ledger.events`: a page of the log, filtered. `afterSeq`/`beforeSeq` are
 * exclusive bounds; to page, pass the last seq answered as `afterSeq` (asc)
 * or `beforeSeq` (desc). Newest first by default.
 */
export const ledgerEventsInputSchema = z.object({
  kind: z.string().min(1).max(64).optional(),
  actor: z.string().min(1).max(128).optional(),
  afterSeq: z.number().int().nonnegative().optional(),
  beforeSeq: z.number().int().positive().optional(),
  limit: z.number().int().min(1).max(LEDGER_EVENTS_MAX_LIMIT).default(100),
  order: z.enum(['asc', 'desc']).default('desc'),
});
export type LedgerEventsInput = z.input<typeof ledgerEventsInputSchema>;

/** `ledger.events`: typed entries (and legacy ones, as stored), see {@link ledgerEntryFromRow}. */
export const ledgerEventsAnswerSchema = z.object({
  events: z.array(ledgerEntrySchema),
  /** More events match beyond this page. */
  hasMore: z.boolean(),
  head: ledgerHeadSchema.nullable(),
});
export type LedgerEventsAnswer = z.infer<typeof ledgerEventsAnswerSchema>;

/**
 * Why a ledger does not verify:
 * - `hash_mismatch`: an event's stored hash is not the hash of its fields (it was edited);
 * - `prev_mismatch`: an event's stored hash is not what the next event chains to (rewritten with its hash);
 * - `gap`: seqs are missing (rows deleted);
 * - `out_of_order`: seqs repeat or go backwards;
 * - `truncated`: the control plane holds a checkpoint past the local head (the tail was deleted);
 * - `checkpoint_mismatch`: the chain holds together but differs from a signed checkpoint (recomputed after an edit);
 * - `checkpoint_signature`: a checkpoint's signature does not verify;
 * - `key_mismatch`: a checkpoint is signed by another key than the pinned one;
 * - `local_key_mismatch`: this device's ledger key is not the pinned one.
 */
export const ledgerProblemCodeSchema = z.enum([
  'hash_mismatch',
  'prev_mismatch',
  'gap',
  'out_of_order',
  'truncated',
  'checkpoint_mismatch',
  'checkpoint_signature',
  'key_mismatch',
  'local_key_mismatch',
]);
export type LedgerProblemCode = z.infer<typeof ledgerProblemCodeSchema>;

/** One problem; `seq` is the event to look at, null when it is not about one event (a key, a checkpoint). */
export const ledgerProblemSchema = z.object({
  seq: z.number().int().positive().nullable(),
  code: ledgerProblemCodeSchema,
  message: z.string(),
});
export type LedgerProblem = z.infer<typeof ledgerProblemSchema>;

/** `ledger.verify` and `optimal ledger verify`. */
export const ledgerVerifyReportSchema = z.object({
  /** The chain holds together and agrees with every checkpoint, and no key is out of place. */
  ok: z.boolean(),
  /** Events read. */
  events: z.number().int().nonnegative(),
  head: ledgerHeadSchema.nullable(),
  checkpoints: z.object({
    /** Checkpoints the control plane holds (and was asked for). */
    total: z.number().int().nonnegative(),
    /** Those whose signed head equals the local event at their seq. */
    matched: z.number().int().nonnegative(),
  }),
  /** The earliest event a person should look at (or, when no event is at fault, the first problem). */
  firstBad: ledgerProblemSchema.nullable(),
  /** The first problems found, in the order found (capped; see `problemsOmitted`). */
  problems: z.array(ledgerProblemSchema),
  /** Problems found beyond the cap and not listed. */
  problemsOmitted: z.number().int().nonnegative(),
  /** One line for a person: what was checked and what it means. */
  summary: z.string(),
});
export type LedgerVerifyReport = z.infer<typeof ledgerVerifyReportSchema>;

import { z } from 'zod';
import {
  fileDeleteAnswerSchema,
  fileWriteAnswerSchema,
  processSignalAnswerSchema,
  processSignalSchema,
  serviceActionAnswerSchema,
  serviceActionSchema,
} from './agent/system.js';
import { memoryCategorySchema, memoryIdSchema } from './agent/memory.js';
import { backupIdSchema, skillToolNameSchema } from './agent/records.js';
import { finishedSessionSchema, permissionModeSchema } from './envelope.js';
import { errorCodeSchema } from './errors.js';
import { deviceIdSchema, idSchema, sessionIdSchema } from './ids.js';
import { safeText } from './text.js';
import { vaultNameSchema } from './vault.js';

/**
 * What the device ledger records: one schema per event kind, each with its
 * payload, in a discriminated union keyed by `kind`. The daemon validates an
 * event against it before hashing and appending it (nothing is appended when
 * it does not parse), and reads events back through it (see
 * `ledgerEntryFromRow` in `agent/ledger.ts` for events outside it).
 *
 * Payloads are strict (an unknown key is refused) and hold plain JSON only:
 * no defaults or transforms, so the value parsed is the value stored. Keys
 * are declared in the order their writers put them, so a parsed payload
 * serialises to the same text. Strings are bounded and refuse NUL; they are
 * not checked for control characters, because the ledger keeps what
 * happened and readers escape what they print. Changes are additive: a new
 * kind is a new entry; a payload gains only optional keys.
 */

/** A process id (Linux caps pids at 2^22). */
const pid = z
  .number()
  .int()
  .positive()
  .max(2 ** 31 - 1);
/** The seq of an earlier ledger event this one follows up. */
const seq = z.number().int().positive();
const count = z.number().int().nonnegative();
/** An absolute path (Linux's PATH_MAX). */
const path = safeText(4096);
/** A one-line human summary (approval prompts and the ledger). */
const summary = safeText(2000);
/** Why something was refused or denied. */
const reason = safeText(2000);
/** An error message. */
const message = safeText(8192);
/** An approval request's id, as the harness gave it. */
const requestId = safeText(128, 1);
/** A mutation tool's name (`file_write`, `service_restart`, …). */
const tool = skillToolNameSchema;

function event<K extends string, P extends z.ZodType>(kind: K, payload: P) {
  return z.object({ kind: z.literal(kind), payload });
}

/** Where a path lies for a mutation: in the session's work dir, outside it, or where no agent may act. */
export const mutationPathClassSchema = z.enum(['work_dir', 'outside', 'forbidden']);

/** The facts a mutation was planned with, as `mutation.requested` records them. */
export const mutationPlanSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('service_action'), unit: safeText(256), action: serviceActionSchema }),
  z.strictObject({
    kind: z.literal('process_signal'),
    pid,
    signal: processSignalSchema,
    name: safeText(4096).nullable(),
  }),
  z.strictObject({
    kind: z.literal('file_write'),
    path,
    where: mutationPathClassSchema,
    exists: z.boolean(),
    bytes: count,
  }),
  z.strictObject({ kind: z.literal('file_delete'), path, where: mutationPathClassSchema, bytes: count }),
]);

/** What a mutation tool answered, as `mutation.done` records it: the tool's own answer. */
export const mutationResultSchema = z.union([
  z.strictObject({ ...serviceActionAnswerSchema.shape, service: safeText(256), stderrTail: safeText(4096) }),
  z.strictObject({ ...processSignalAnswerSchema.shape, name: safeText(4096) }),
  z.strictObject({ ...fileWriteAnswerSchema.shape, path }),
  z.strictObject({ ...fileDeleteAnswerSchema.shape, path }),
]);
export type MutationResult = z.infer<typeof mutationResultSchema>;

/** How a mutation came to be allowed: the owner's own, not destructive, a session in permission mode `full`, or approved. */
export const mutationGrantSchema = z.enum(['owner', 'not_destructive', 'permission_mode_full', 'approved']);

/**
 * Every event the ledger records, keyed by `kind`. Actors: `owner`,
 * `daemon`, `control-plane` (a session it asked for), `session:<id>`.
 */
export const ledgerEventSchema = z.discriminatedUnion('kind', [
  // ---- the device ------------------------------------------------------------
  /** `optimal pair` / `optimal up` paired this data dir (the ledger's first event). */
  event('device.paired', z.strictObject({ deviceId: deviceIdSchema, name: safeText(256), server: safeText(2048) })),
  event('daemon.start', z.strictObject({ deviceId: deviceIdSchema, pid })),
  event('daemon.stop', z.strictObject({ deviceId: deviceIdSchema })),

  // ---- sessions (from the envelopes the device sends) -------------------------
  /** The device acked a session: its process and what the runner knows of it (null when it no longer does). */
  event(
    'session.start',
    z.strictObject({
      sessionId: sessionIdSchema,
      pid: pid.nullable(),
      harness: safeText(64).nullable(),
      workDir: path.nullable(),
      permissionMode: permissionModeSchema.nullable(),
    }),
  ),
  event('session.refuse', z.strictObject({ sessionId: sessionIdSchema, code: errorCodeSchema })),
  event('session.exit', z.strictObject(finishedSessionSchema.shape)),
  /** A session process a crashed run of the daemon left behind, ended at start. */
  event(
    'session.leftover',
    z.strictObject({
      sessionId: sessionIdSchema,
      pid,
      sandboxed: z.boolean(),
      outcome: z.enum(['terminated', 'killed', 'gone']),
      reason,
    }),
  ),

  // ---- approvals and credentials ----------------------------------------------
  /** A harness asked the owner's permission for a tool call. */
  event('approval.request', z.strictObject({ sessionId: sessionIdSchema, requestId, tool: safeText(256), summary })),
  /** How it was settled: by the owner, or denied when nobody answered in time or the session ended. */
  event(
    'approval.decision',
    z.strictObject({
      sessionId: sessionIdSchema,
      requestId,
      decision: z.enum(['allow', 'deny']),
      reason: reason.nullable(),
      by: z.enum(['owner', 'timeout', 'session_gone']),
    }),
  ),
  /** A session's credentials were decrypted for it (or could not be: `code` says why). */
  event(
    'vault.access',
    z.discriminatedUnion('ok', [
      z.strictObject({ sessionId: sessionIdSchema, names: z.array(vaultNameSchema).max(32), ok: z.literal(true) }),
      z.strictObject({
        sessionId: sessionIdSchema,
        names: z.array(vaultNameSchema).max(32),
        ok: z.literal(false),
        code: safeText(64, 1),
      }),
    ]),
  ),

  // ---- mutations through the agent API (modules/system/mutations.ts) ---------
  event('mutation.requested', z.strictObject({ tool, summary, destructive: z.boolean(), plan: mutationPlanSchema })),
  event('mutation.denied', z.strictObject({ tool, requestedSeq: seq, reason: reason.nullable() })),
  event('mutation.failed', z.strictObject({ tool, requestedSeq: seq, code: errorCodeSchema, message })),
  event(
    'mutation.done',
    z.strictObject({ tool, requestedSeq: seq, grant: mutationGrantSchema, result: mutationResultSchema }),
  ),

  // ---- memory, incidents, backups (daemon modules/) -------------------------
  event('memory.store', z.strictObject({ id: memoryIdSchema, file: path, category: memoryCategorySchema })),
  /** `source` is who the memory is recorded as; `claimedSource` what a session said it came from, when that differs. */
  event(
    'memory.ingest',
    z.strictObject({
      id: memoryIdSchema,
      file: path,
      source: safeText(512),
      claimedSource: safeText(512).optional(),
      chars: count,
    }),
  ),
  event(
    'memory.reindex',
    z.strictObject({
      memories: count,
      chunks: count,
      errors: z.array(z.strictObject({ file: path, message })).max(10_000),
      ms: z.number().nonnegative(),
    }),
  ),
  event('incident.create', z.strictObject({ id: idSchema, title: safeText(200) })),
  event('incident.step', z.strictObject({ id: idSchema, step: z.number().int().positive(), action: safeText(2000) })),
  event('incident.close', z.strictObject({ id: idSchema, resolution: safeText(4000) })),
  event('backup.create', z.strictObject({ backupId: backupIdSchema, sizeBytes: count })),
  event('backup.restore.requested', z.strictObject({ backupId: backupIdSchema })),
  event('backup.restore.failed', z.strictObject({ backupId: backupIdSchema, requestedSeq: seq, message })),
  /** `reindexError`: the restore happened but rebuilding the memory index failed (the next reindex retries). */
  event(
    'backup.restore.done',
    z.strictObject({
      backupId: backupIdSchema,
      requestedSeq: seq,
      restored: z.array(safeText(64)).max(16),
      reindexError: message.nullable(),
    }),
  ),
]);

/** One event as it is written: its kind and that kind's payload. */
export type LedgerEvent = z.infer<typeof ledgerEventSchema>;
export type LedgerEventKind = LedgerEvent['kind'];
/** The event of one kind. */
export type LedgerEventOf<K extends LedgerEventKind> = Extract<LedgerEvent, { kind: K }>;
/** The payload of one kind: `LedgerPayload<'session.exit'>` is `{ sessionId, code, signal }`. */
export type LedgerPayload<K extends LedgerEventKind> = LedgerEventOf<K>['payload'];

/** Every kind the union names. */
export const ledgerEventKinds: readonly LedgerEventKind[] = ledgerEventSchema.options.map((o) => o.shape.kind.value);

const payloadSchemas: ReadonlyMap<string, z.ZodType> = new Map(
  ledgerEventSchema.options.map((o) => [o.shape.kind.value, o.shape.payload] as const),
);

/** The payload schema of `kind`; undefined when no event of that kind is known. */
export function ledgerPayloadSchema(kind: string): z.ZodType | undefined {
  return payloadSchemas.get(kind);
}

/** Whether `kind` is one the union names. */
export function isLedgerEventKind(kind: string): kind is LedgerEventKind {
  return payloadSchemas.has(kind);
}

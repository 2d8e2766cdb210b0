import { z } from 'zod';
import { harnessStatusSchema, sessionEventStatusSchema, statusOfWord, toHarnessStatus } from './event-status.js';
import { boundedJson, costUsdSchema, safeLabel, tokenCountSchema } from './text.js';

/**
 * A `status` event as daemons send it: one of the shared statuses, the
 * harness's own word for it when there was one, and free detail.
 */
export const statusEventSchema = z.object({
  kind: z.literal('status'),
  status: sessionEventStatusSchema,
  harnessStatus: harnessStatusSchema.optional(),
  detail: z.string().max(2000).optional(),
});
export type StatusEvent = z.infer<typeof statusEventSchema>;

/**
 * Reads a `status` event leniently, so nothing an older daemon sent or an
 * older control plane stored is refused: a `status` outside the enum (the
 * free string of daemons before it, or a value newer than this reader) is
 * read through {@link statusOfWord} (`turn_begin` → `turn_started`, unknown
 * → `other`) and the word is kept as `harnessStatus` unless one was sent.
 * What it returns always satisfies {@link statusEventSchema}.
 */
const statusEventReader = z
  .object({
    kind: z.literal('status'),
    status: z.string().max(64),
    harnessStatus: harnessStatusSchema.optional(),
    detail: z.string().max(2000).optional(),
  })
  .transform(({ status, harnessStatus, detail }): StatusEvent => {
    const e: StatusEvent = { kind: 'status', status: statusOfWord(status) };
    const word = harnessStatus ?? (e.status === status ? '' : toHarnessStatus(status));
    if (word) e.harnessStatus = word;
    if (detail !== undefined) e.detail = detail;
    return e;
  });

/**
 * Normalised, harness-independent session events (`session.event` payloads).
 * Harness adapters map their CLI's own output onto these; the shell harness
 * emits none. Additive: new kinds may appear, old ones never change.
 *
 * Parsing is the reading side (control plane, CLI, cockpit): a `status`
 * event in the shape of older daemons is accepted and normalised (see
 * `statusEventReader`), so the output always has the current shape.
 */
export const sessionEventSchema = z.discriminatedUnion('kind', [
  statusEventReader,
  z.object({ kind: z.literal('text'), text: z.string() }),
  z.object({ kind: z.literal('reasoning'), text: z.string() }),
  z.object({
    kind: z.literal('tool_call'),
    id: z.string().max(256),
    name: z.string().max(256),
    input: boundedJson(),
  }),
  z.object({
    kind: z.literal('tool_result'),
    id: z.string().max(256),
    output: z.string(),
    isError: z.boolean().default(false),
  }),
  z.object({
    kind: z.literal('file_change'),
    path: z.string().max(4096),
    change: z.enum(['add', 'modify', 'delete', 'rename']),
  }),
  z.object({
    kind: z.literal('usage'),
    input: tokenCountSchema(),
    output: tokenCountSchema(),
    cached: tokenCountSchema(),
    costUsd: costUsdSchema().optional(),
  }),
  // Sent by daemons before the harness session id travelled only as `session.meta`; still accepted from them.
  z.object({ kind: z.literal('harness_session'), id: safeLabel(256) }),
  z.object({ kind: z.literal('raw'), line: z.string() }),
  z.object({ kind: z.literal('error'), message: z.string().max(4000) }),
]);
export type SessionEvent = z.infer<typeof sessionEventSchema>;

import { z } from 'zod';
import { boundedJson, costUsdSchema, safeLabel, tokenCountSchema } from './text.js';

/**
 * Normalised, harness-independent session events (`session.event` payloads).
 * Harness adapters map their CLI's own output onto these; the shell harness
 * only emits `status`. Additive: new kinds may appear, old ones never change.
 */
export const sessionEventSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('status'), status: z.string().max(64), detail: z.string().max(2000).optional() }),
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
  z.object({ kind: z.literal('harness_session'), id: safeLabel(256) }),
  z.object({ kind: z.literal('raw'), line: z.string() }),
  z.object({ kind: z.literal('error'), message: z.string().max(4000) }),
]);
export type SessionEvent = z.infer<typeof sessionEventSchema>;

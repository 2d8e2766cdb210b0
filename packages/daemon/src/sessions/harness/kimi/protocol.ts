import { permissionModeSchema, type PermissionMode } from '@fabric/protocol';
import { z } from 'zod';

/**
 * Kimi CLI wire mode, the messages: our request ids and the shapes of what
 * `kimi --wire` sends, as zod schemas every line is checked against. From
 * MoonshotAI/kimi-cli: docs/en/customization/wire-mode.md,
 * src/kimi_cli/wire/jsonrpc.py (envelopes, error codes), wire/types.py and
 * packages/kosong (event and request payloads).
 */

/** The wire protocol version this adapter was written against (wire/protocol.py). */
export const KIMI_WIRE_PROTOCOL_VERSION = '1.10';

/**
 * Our JSON-RPC request ids, `fabric:<method>:<tag>`. Kimi echoes an id in its
 * response, and a driver is created without the session's start payload, so
 * the `initialize` id carries what the driver must know: the permission mode
 * (auto-edit is enforced here) and the Kimi session id (wire mode never
 * reports one). The plan's first `prompt` id is fixed; the driver numbers
 * its own requests from 1.
 */
export const kimiWireIds = {
  initialize: (mode: PermissionMode, kimiSessionId: string) => `fabric:initialize:${mode}:${kimiSessionId}`,
  firstPrompt: 'fabric:prompt:0',
  request: (method: string, n: number) => `fabric:${method}:${n}`,

  /** The method of one of our ids, or null for an id we did not make. */
  method(id: string): string | null {
    return /^fabric:([a-z_]+):/.exec(id)?.[1] ?? null;
  },

  /** What an `initialize` id carries, or null if `id` is not one. */
  parseInitialize(id: string): { mode: PermissionMode; kimiSessionId: string } | null {
    const m = /^fabric:initialize:([a-z-]+):(.+)$/s.exec(id);
    const mode = permissionModeSchema.safeParse(m?.[1]);
    return m && mode.success ? { mode: mode.data, kimiSessionId: m[2]! } : null;
  },
};

/** Kimi's "the server is in the wrong state" error: a turn is (not) in progress (jsonrpc.py ErrorCodes.INVALID_STATE). */
export const INVALID_STATE = -32000;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;

/**
 * The approval `action` Kimi's WriteFile and StrReplaceFile use for a file
 * inside the working directory (tools/file/__init__.py FileActions.EDIT).
 * Edits outside it ("edit file outside of working directory") still ask.
 */
export const AUTO_EDIT_ACTIONS: ReadonlySet<string> = new Set(['edit file']);

export const rpcSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: z.union([z.string(), z.number()]).nullish(),
  method: z.string().optional(),
  params: z.unknown().optional(),
  result: z.unknown().optional(),
  error: z.object({ code: z.number(), message: z.string() }).optional(),
});
/** `event` and `request` params: a serialised wire message (serde.py WireMessageEnvelope). */
export const envelopeSchema = z.object({ type: z.string(), payload: z.record(z.string(), z.unknown()) });

export const textPartSchema = z.object({ type: z.literal('text'), text: z.string() });
export const thinkPartSchema = z.object({ type: z.literal('think'), think: z.string() });
const partsSchema = z.array(z.object({ type: z.string(), text: z.string().optional() }));
export const toolCallSchema = z.object({
  id: z.string(),
  function: z.object({ name: z.string(), arguments: z.string().nullish() }),
});
export const toolCallPartSchema = z.object({ arguments_part: z.string().nullish() });
export const toolResultSchema = z.object({
  tool_call_id: z.string(),
  return_value: z.object({
    is_error: z.boolean(),
    output: z.union([z.string(), partsSchema]),
    message: z.string().default(''),
  }),
});
const count = z.number().int().nonnegative();
/** kosong TokenUsage: `input_other` excludes cache reads and cache creation. */
export const statusUpdateSchema = z.object({
  token_usage: z
    .object({
      input_other: count,
      output: count,
      input_cache_read: count.default(0),
      input_cache_creation: count.default(0),
    })
    .nullish(),
});
export const stepRetrySchema = z.object({
  n: z.number(),
  next_attempt: z.number(),
  max_attempts: z.number(),
  wait_s: z.number(),
  error_type: z.string(),
});
export const userInputSchema = z.object({ user_input: z.union([z.string(), partsSchema]) });
export const notificationSchema = z.object({ title: z.string(), body: z.string() });
export const planDisplaySchema = z.object({ content: z.string() });
export const approvalRequestSchema = z.object({
  id: z.string(),
  tool_call_id: z.string(),
  sender: z.string(),
  action: z.string(),
  description: z.string(),
  display: z.array(z.unknown()).default([]),
});
export type KimiApprovalRequest = z.infer<typeof approvalRequestSchema>;
export const questionRequestSchema = z.object({
  id: z.string(),
  questions: z.array(z.object({ question: z.string() })),
});
export const idPayloadSchema = z.object({ id: z.string() });
export const promptResultSchema = z.object({ status: z.string(), steps: z.number().nullish() });

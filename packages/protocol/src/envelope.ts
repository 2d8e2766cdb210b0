import { z } from 'zod';
import { capabilityDigestSchema, harnessNameSchema, labelsSchema } from './capabilities.js';
import { errorCodeSchema } from './errors.js';
import { corrIdSchema, deviceIdSchema, sessionIdSchema } from './ids.js';
import { sessionEventSchema } from './events.js';
import { ledgerCheckpointSchema } from './ledger.js';
import { sessionCredentialSchema } from './vault.js';
import { boundedJson, costUsdSchema, safeLabel, safeText, timestampSchema, tokenCountSchema } from './text.js';

/**
 * Which way an envelope travels. A device only ever sends `to_cloud`; the
 * control plane sends `to_device` on a device socket and `to_browser` on a
 * browser socket. A frame whose direction does not fit its socket is refused.
 */
export const directionSchema = z.enum(['to_cloud', 'to_device', 'to_browser']);
export type Direction = z.infer<typeof directionSchema>;

/** A session's output chunk; `data` is opaque to the control plane. */
const outputPayload = z.object({
  sessionId: sessionIdSchema,
  data: z.string(),
});

/** A process id as a device reports it (Linux caps pids at 2^22). */
const pidSchema = z
  .number()
  .int()
  .positive()
  .max(2 ** 31 - 1);

/** A device's view of a session it is still running, sent on (re)connect. */
export const runningSessionSchema = z.object({
  sessionId: sessionIdSchema,
  pid: pidSchema.nullable(),
  startedAt: timestampSchema(),
});
export type RunningSession = z.infer<typeof runningSessionSchema>;

/**
 * How much a harness may do without asking: `ask` routes every permission
 * request to the owner, `auto-edit` lets file edits through and asks for the
 * rest, `full` asks nothing.
 */
export const permissionModeSchema = z.enum(['ask', 'auto-edit', 'full']);
export type PermissionMode = z.infer<typeof permissionModeSchema>;

/** Everything a device needs to start a session. */
export const sessionStartPayloadSchema = z.object({
  sessionId: sessionIdSchema,
  harness: harnessNameSchema,
  prompt: safeText(100_000),
  cwd: safeText(4096).nullable(),
  labels: labelsSchema,
  permissionMode: permissionModeSchema.default('ask'),
  /** Continue the harness's own conversation with this id (its resume flag). */
  resume: safeLabel(256).nullable().default(null),
  model: safeLabel(128).nullable().default(null),
  /** Vault entries for this session, as ciphertext: the device decrypts them with its own key. */
  credentials: z.array(sessionCredentialSchema).max(32).default([]),
  /**
   * True when the person who asked for this session is the device's owner.
   * A device that cannot sandbox runs only such sessions (unisolated, with a
   * warning); everyone else's are refused with `sandbox_unavailable`.
   */
  byDeviceOwner: z.boolean().default(false),
});

/** Token counts as a harness reports them; `costUsd` only where the harness itself reports one. */
export const usageSchema = z.object({
  input: tokenCountSchema(),
  output: tokenCountSchema(),
  cached: tokenCountSchema(),
  costUsd: costUsdSchema().optional(),
});
export type Usage = z.infer<typeof usageSchema>;
export type SessionStartPayload = z.infer<typeof sessionStartPayloadSchema>;

/**
 * A device's own sequence number for an envelope it sends about a session:
 * one counter per device, rising across daemon restarts, so the control plane
 * can store each such envelope exactly once however often it is resent.
 */
export const deviceSeqSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** A session the device finished but whose exit the control plane has not acknowledged yet. */
export const finishedSessionSchema = z.object({
  sessionId: sessionIdSchema,
  code: z
    .number()
    .int()
    .min(-(2 ** 31))
    .max(2 ** 32 - 1)
    .nullable(),
  signal: safeLabel(32).nullable(),
});
export type FinishedSession = z.infer<typeof finishedSessionSchema>;

function message<T extends string, P extends z.ZodType>(type: T, payload: P) {
  return z.object({
    corrId: corrIdSchema,
    type: z.literal(type),
    direction: directionSchema,
    payload,
    ts: timestampSchema(),
    /** Set by a device on `session.*` envelopes it sends ({@link deviceSeqSchema}); acknowledged by `delivered`. */
    dseq: deviceSeqSchema.optional(),
  });
}

/**
 * Every envelope on the wire, a discriminated union keyed by `type`.
 *
 * corrId rule: `session.start` carries a new corrId (the session's), and every
 * child envelope of that session (`ack`, `refuse`, `stdout`, `stderr`, `event`,
 * `input`, `cancel`, `exit`) reuses it so any node can route it back to the
 * streams watching that session. Envelopes outside a session (hello,
 * heartbeat, error) carry a fresh corrId; an `error` answering a frame reuses
 * that frame's corrId when it could be read.
 */
export const envelopeSchema = z.discriminatedUnion('type', [
  message(
    'hello',
    z.object({
      deviceId: deviceIdSchema,
      capabilities: capabilityDigestSchema,
      running: z.array(runningSessionSchema).max(1024),
      /** Sessions that ended on the device whose exit is still waiting in its outbox; their output follows hello. */
      finished: z.array(finishedSessionSchema).max(1024).optional(),
      /** The device's vault recipient (age1…); the owner still has to add it to the signed set. */
      vaultRecipient: z
        .string()
        .regex(/^age1[0-9a-z]+$/)
        .max(4096)
        .optional(),
    }),
  ),
  message(
    'welcome',
    z.object({
      deviceId: deviceIdSchema,
      name: z.string().max(256),
      heartbeatMs: z.number().int().positive().max(86_400_000),
      serverTime: timestampSchema(),
      /** A fresh device token when the current one is past half its life. */
      token: z.string().max(4096).optional(),
    }),
  ),
  /**
   * The control plane has durably stored (or finally answered) every envelope
   * this device sent with a `dseq` up to `upTo`: the device may forget them.
   */
  message(
    'delivered',
    z.object({
      upTo: deviceSeqSchema,
    }),
  ),
  message(
    'heartbeat',
    z.object({
      capabilities: capabilityDigestSchema,
      running: z.array(sessionIdSchema).max(1024),
    }),
  ),
  message('session.start', sessionStartPayloadSchema),
  message(
    'session.ack',
    z.object({
      sessionId: sessionIdSchema,
      pid: pidSchema.nullable(),
    }),
  ),
  message(
    'session.refuse',
    z.object({
      sessionId: sessionIdSchema,
      code: errorCodeSchema,
      message: safeText(2000),
    }),
  ),
  message('session.stdout', outputPayload),
  message('session.stderr', outputPayload),
  message(
    'session.event',
    z.object({
      sessionId: sessionIdSchema,
      event: sessionEventSchema,
    }),
  ),
  message(
    'session.input',
    z.object({
      sessionId: sessionIdSchema,
      data: safeText(1_000_000),
      /** Close the session's stdin after writing `data`. */
      eof: z.boolean().default(false),
    }),
  ),
  message(
    'session.cancel',
    z.object({
      sessionId: sessionIdSchema,
      reason: safeText(500).optional(),
    }),
  ),
  /**
   * What the control plane itself must read about a session, kept apart from
   * its content: token usage (feeds the fuel meter) and the harness's own
   * session id (kept for resume).
   */
  message(
    'session.meta',
    z.object({
      sessionId: sessionIdSchema,
      usage: usageSchema.optional(),
      harnessSessionId: safeLabel(256).optional(),
    }),
  ),
  /** A harness asks permission for a tool call; the owner answers with `session.approval`. */
  message(
    'session.approval_request',
    z.object({
      sessionId: sessionIdSchema,
      requestId: z.string().min(1).max(128),
      tool: safeLabel(256),
      /** One line a person can judge the request by. */
      summary: safeText(2000),
      input: boundedJson(),
      expiresAt: timestampSchema(),
    }),
  ),
  message(
    'session.approval',
    z.object({
      sessionId: sessionIdSchema,
      requestId: z.string().min(1).max(128),
      decision: z.enum(['allow', 'deny']),
      reason: safeText(500).optional(),
    }),
  ),
  message(
    'session.exit',
    z.object({
      sessionId: sessionIdSchema,
      /** An exit status (0..255) or a negative platform code; anything else is not one. */
      code: z
        .number()
        .int()
        .min(-(2 ** 31))
        .max(2 ** 32 - 1)
        .nullable(),
      signal: safeLabel(32).nullable(),
    }),
  ),
  /** The device's signed ledger head; the control plane keeps it (see `ledger.ts`). */
  message('ledger.checkpoint', ledgerCheckpointSchema),
  /** The control plane kept the checkpoint with this `seq` (sent back with the checkpoint's corrId). */
  message('ledger.checkpoint_ack', z.object({ seq: z.number().int().positive() })),
  message(
    'fleet.device',
    z.object({
      id: deviceIdSchema,
      online: z.boolean(),
    }),
  ),
  message(
    'fleet.session',
    z.object({
      id: sessionIdSchema,
      status: z.string().max(32),
      deviceId: deviceIdSchema.nullable(),
    }),
  ),
  message(
    'fleet.board',
    z.object({
      cardId: z.string().max(128),
    }),
  ),
  message(
    'error',
    z.object({
      code: errorCodeSchema,
      message: safeText(2000),
    }),
  ),
]);

export type Envelope = z.infer<typeof envelopeSchema>;
export type EnvelopeType = Envelope['type'];
export type EnvelopeOf<T extends EnvelopeType> = Extract<Envelope, { type: T }>;
export type PayloadOf<T extends EnvelopeType> = EnvelopeOf<T>['payload'];
export const envelopeTypes = envelopeSchema.options.map((o) => o.shape.type.value);

import { z } from 'zod';
import { capabilityDigestSchema, harnessNameSchema, labelsSchema } from './capabilities.js';
import { errorCodeSchema } from './errors.js';
import { sessionEventSchema } from './events.js';
import { permissionModeSchema, usageSchema } from './envelope.js';
import { roleSchema } from './tokens.js';
import { safeName, safeText } from './text.js';

/**
 * A session's lifecycle. `queued` waits for a device, `starting` was sent and
 * awaits the ack, `running` was acked. `lost` means its device vanished while
 * it ran; it returns to `running` if the device reconnects still running it.
 * `succeeded`, `failed`, `cancelled` and `refused` are terminal.
 */
export const sessionStatusSchema = z.enum([
  'queued',
  'starting',
  'running',
  'lost',
  'succeeded',
  'failed',
  'cancelled',
  'refused',
]);
export type SessionStatus = z.infer<typeof sessionStatusSchema>;
export const terminalStatuses: readonly SessionStatus[] = ['succeeded', 'failed', 'cancelled', 'refused'];
export function isTerminal(status: SessionStatus): boolean {
  return terminalStatuses.includes(status);
}

// ---- requests -------------------------------------------------------------

export const createSessionRequestSchema = z
  .object({
    harness: harnessNameSchema,
    prompt: safeText(100_000, 1),
    deviceId: safeName(128).optional(),
    labels: labelsSchema.optional(),
    cwd: safeText(4096, 1).optional(),
    /** Vault entry names to inject (the vault issue fills this in on the device). */
    credentials: z.array(safeName(128)).max(32).optional(),
    permissionMode: permissionModeSchema.optional(),
    model: safeName(128).optional(),
    /** Continue a finished session's conversation: same harness, same device, its harness session id. */
    resumeFrom: safeName(128).optional(),
  })
  .strict();

export const approvalDecisionRequestSchema = z
  .object({
    decision: z.enum(['allow', 'deny']),
    reason: safeText(500).optional(),
  })
  .strict();

export const approvalViewSchema = z.object({
  requestId: z.string(),
  sessionId: z.string(),
  tool: z.string(),
  summary: z.string(),
  status: z.enum(['pending', 'allowed', 'denied', 'expired']),
  reason: z.string().nullable(),
  createdAt: z.number(),
  expiresAt: z.number(),
  decidedAt: z.number().nullable(),
});
export type ApprovalView = z.infer<typeof approvalViewSchema>;
export type CreateSessionRequest = z.infer<typeof createSessionRequestSchema>;

export const sessionInputRequestSchema = z
  .object({
    data: safeText(1_000_000),
    eof: z.boolean().optional(),
  })
  .strict();

export const cancelSessionRequestSchema = z
  .object({
    reason: safeText(500).optional(),
  })
  .strict();

export const updateDeviceRequestSchema = z
  .object({
    name: safeName(64).optional(),
    /** A draining device finishes its sessions and takes no new ones. */
    draining: z.boolean().optional(),
    priority: z.number().int().min(-10).max(10).optional(),
  })
  .strict();
/** @deprecated kept for compatibility; use updateDeviceRequestSchema. */
export const renameDeviceRequestSchema = updateDeviceRequestSchema;

const nameSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'names are 1-64 letters, digits, _ . @ -');
const passwordSchema = z.string().min(8, 'passwords need at least 8 characters').max(1024);

export const loginRequestSchema = z
  .object({
    name: nameSchema,
    password: z.string().min(1).max(1024),
    client: z.enum(['browser', 'cli']).default('browser'),
  })
  .strict();

/** Redeem an owner setup code or a member invite: creates the account (or sets the owner's password). */
export const redeemRequestSchema = z
  .object({
    code: z.string().min(8).max(256),
    name: nameSchema,
    password: passwordSchema,
    client: z.enum(['browser', 'cli']).default('browser'),
  })
  .strict();

export const inviteRequestSchema = z
  .object({
    role: roleSchema.default('member'),
  })
  .strict();

export const pairRequestSchema = z
  .object({
    token: z.string().min(16).max(4096),
    name: safeName(64),
    /** The device's vault recipient (age1…), made at pairing; its secret never leaves the device. */
    vaultRecipient: z
      .string()
      .regex(/^age1[0-9a-z]+$/)
      .max(4096)
      .optional(),
  })
  .strict();

// ---- responses ------------------------------------------------------------

export const authResponseSchema = z.object({
  token: z.string(),
  expiresAt: z.number(),
  user: z.object({ id: z.string(), name: z.string(), role: roleSchema }),
});
export type AuthResponse = z.infer<typeof authResponseSchema>;

export const codeResponseSchema = z.object({
  code: z.string(),
  kind: z.enum(['setup', 'invite', 'pairing']),
  expiresAt: z.number(),
});
export type CodeResponse = z.infer<typeof codeResponseSchema>;

export const pairResponseSchema = z.object({
  deviceId: z.string(),
  name: z.string(),
  token: z.string(),
  expiresAt: z.number(),
});
export type PairResponse = z.infer<typeof pairResponseSchema>;

export const deviceViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  online: z.boolean(),
  revoked: z.boolean(),
  createdAt: z.number(),
  lastSeenAt: z.number().nullable(),
  capabilities: capabilityDigestSchema.nullable(),
  runningSessions: z.number().int(),
  draining: z.boolean(),
  priority: z.number().int(),
  vaultRecipient: z.string().nullable(),
  /** The account that paired it (id and name) and the people it is shared with (names). */
  ownerId: z.string().optional(),
  ownerName: z.string().nullable().optional(),
  /** That account's role: a member-paired device is not trusted with the owner's credentials by default. */
  ownerRole: roleSchema.nullable().optional(),
  sharedWith: z.array(z.string()).optional(),
});
export type DeviceView = z.infer<typeof deviceViewSchema>;

/** `POST /api/devices/:id/shares`: let another person see and use a device. */
export const deviceShareRequestSchema = z
  .object({
    user: z.string().min(1).max(64),
  })
  .strict();
export type DeviceShareRequest = z.infer<typeof deviceShareRequestSchema>;

/** What the router was asked (a pinned device, labels) and what it decided, as one line for people. */
export const sessionPlacementSchema = z.object({
  /** Where it went and why, or why it waits (`describePlacement`). */
  text: z.string(),
  /** The device the request pinned, if any. */
  deviceId: z.string().nullable(),
  /** The labels a device had to carry. */
  labels: labelsSchema,
});
export type SessionPlacement = z.infer<typeof sessionPlacementSchema>;

export const sessionViewSchema = z.object({
  id: z.string(),
  harness: harnessNameSchema,
  prompt: z.string(),
  status: sessionStatusSchema,
  deviceId: z.string().nullable(),
  deviceName: z.string().nullable(),
  labels: labelsSchema,
  cwd: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  errorCode: errorCodeSchema.nullable(),
  errorMessage: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  lastSeq: z.number().int(),
  permissionMode: permissionModeSchema,
  model: z.string().nullable(),
  harnessSessionId: z.string().nullable(),
  parentId: z.string().nullable(),
  /** Where the router put the session and why, or why it waits. */
  placement: sessionPlacementSchema.nullable(),
  queuedUntil: z.number().nullable(),
  pendingApprovals: z.number().int(),
  /** Vault entry names the session gets as environment variables. */
  credentials: z.array(z.string()),
});
export type SessionView = z.infer<typeof sessionViewSchema>;

/**
 * One persisted session event as streamed over SSE (`id:` is `seq`, `event:`
 * is `kind`, `data:` is this object as JSON). `data` is the session's
 * content, typed by `kind`: output text, a normalised session event, or what
 * an approval asks; `meta` is what the control plane itself reads.
 */
export const streamEventKindSchema = z.enum([
  'stdout',
  'stderr',
  'event',
  'status',
  'exit',
  'input',
  'usage',
  'approval',
]);
export type StreamEventKind = z.infer<typeof streamEventKindSchema>;

const streamEventMetaSchema = z
  .object({
    status: sessionStatusSchema.optional(),
    code: z.number().int().nullable().optional(),
    signal: z.string().nullable().optional(),
    errorCode: errorCodeSchema.optional(),
    message: z.string().optional(),
    usage: usageSchema.optional(),
    requestId: z.string().optional(),
    expiresAt: z.number().optional(),
    decision: z.enum(['allow', 'deny']).optional(),
  })
  .nullable();

/** What an approval request asks, as its `approval` stream event carries it (a decision carries none). */
export const approvalAskedSchema = z.object({ tool: z.string(), summary: z.string(), input: z.unknown() });
export type ApprovalAsked = z.infer<typeof approvalAskedSchema>;

const streamEventBase = { seq: z.number().int().positive(), meta: streamEventMetaSchema, ts: z.number() };

export const streamEventSchema = z.discriminatedUnion('kind', [
  /** Output text, and what a person typed. */
  z.object({ ...streamEventBase, kind: z.enum(['stdout', 'stderr', 'input']), data: z.string() }),
  /** A normalised session event, an object (a `status` from an older daemon reads in the current shape). */
  z.object({ ...streamEventBase, kind: z.literal('event'), data: sessionEventSchema }),
  z.object({ ...streamEventBase, kind: z.literal('approval'), data: approvalAskedSchema.nullable() }),
  /** Everything is in `meta`. */
  z.object({ ...streamEventBase, kind: z.enum(['status', 'exit', 'usage']), data: z.null() }),
]);
export type StreamEvent = z.infer<typeof streamEventSchema>;

export const healthSchema = z.object({
  ok: z.literal(true),
  version: z.string(),
  mode: z.enum(['local', 'cloud']),
  devicesOnline: z.number().int(),
});
export type Health = z.infer<typeof healthSchema>;

// ---- board ------------------------------------------------------------------

export const boardColumnSchema = z.enum(['backlog', 'running', 'review', 'done']);
export type BoardColumn = z.infer<typeof boardColumnSchema>;

export const boardCardSchema = z.object({
  id: z.string(),
  title: z.string(),
  prompt: z.string(),
  harness: harnessNameSchema,
  deviceId: z.string().nullable(),
  permissionMode: permissionModeSchema,
  credentials: z.array(z.string()),
  column: boardColumnSchema,
  /** Order within the column: cards sort by it ascending. */
  position: z.number(),
  sessionId: z.string().nullable(),
  sessionStatus: sessionStatusSchema.nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type BoardCard = z.infer<typeof boardCardSchema>;

export const createCardRequestSchema = z
  .object({
    title: safeName(200),
    prompt: safeText(100_000, 1),
    harness: harnessNameSchema.default('shell'),
    deviceId: safeName(128).nullable().default(null),
    permissionMode: permissionModeSchema.default('ask'),
    credentials: z.array(safeName(128)).max(32).default([]),
    column: boardColumnSchema.default('backlog'),
  })
  .strict();

export const updateCardRequestSchema = z
  .object({
    title: safeName(200).optional(),
    prompt: safeText(100_000, 1).optional(),
    harness: harnessNameSchema.optional(),
    deviceId: safeName(128).nullable().optional(),
    column: boardColumnSchema.optional(),
    position: z.number().min(-1e12).max(1e12).optional(),
  })
  .strict();

// ---- fuel -------------------------------------------------------------------

/** Throughput and yield over one slice (everything, a device, a harness); rules in server/src/fuel/compute.ts. */
export const fuelFiguresSchema = z.object({
  throughput: z.object({ tokensPerMinute: z.number(), windowMinutes: z.number(), sparkline: z.array(z.number()) }),
  yield: z.object({
    sessionsSucceeded: z.number(),
    tokens: z.number(),
    cached: z.number(),
    tokensPerSession: z.number().nullable(),
  }),
});
export type FuelFigures = z.infer<typeof fuelFiguresSchema>;

/** GET /api/fuel. */
export const fuelReportSchema = fuelFiguresSchema.extend({
  generatedAt: z.number(),
  dayStart: z.number(),
  mission: z.object({
    active: z.boolean(),
    streakMs: z.number(),
    since: z.number().nullable(),
    lastActivity: z.number().nullable(),
    idleGapMs: z.number(),
  }),
  byDevice: z.array(fuelFiguresSchema.extend({ key: z.string() })),
  byHarness: z.array(fuelFiguresSchema.extend({ key: z.string() })),
  /** Device names by id, for the breakdown. */
  devices: z.record(z.string(), z.string()),
});
export type FuelReport = z.infer<typeof fuelReportSchema>;

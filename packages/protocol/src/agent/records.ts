import { z } from 'zod';
import { harnessInfoSchema } from '../capabilities.js';
import { deviceIdSchema } from '../ids.js';

/**
 * The record tools of the agent API: receipts (what was done), incident
 * workspaces (auditable troubleshooting), backups of the daemon's own data,
 * the device agent's identity card and its skills. Inputs are strict (an
 * unknown key is a mistake worth reporting); answers are parsed by the daemon
 * before they leave. Times are ms since the epoch.
 */

const timeSchema = z.number().int().nonnegative();
const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/);
/** Who did it, as the ledger names actors: `owner`, `daemon`, `session:<id>`, … */
const actorSchema = z.string().min(1).max(128);

// ---- receipts ---------------------------------------------------------------

/** A receipt's kind, dotted like ledger kinds: `service.restart`, `backup.create`, … */
export const receiptKindSchema = z.string().regex(/^[a-z0-9_.-]{1,64}$/, 'a receipt kind is 1-64 of a-z 0-9 _ . -');

/**
 * A structured account of one thing done on the device: who, what, and (when
 * the act was a ledgered mutation) the ledger event that proves it. `detail`
 * is any JSON the actor found worth keeping (exit codes, hashes, paths).
 */
export const receiptSchema = z.object({
  id: z.string(),
  ts: timeSchema,
  actor: actorSchema,
  kind: receiptKindSchema,
  summary: z.string().max(2000),
  detail: z.json(),
  /** The ledger event recording the act, null when it was not ledgered. */
  ledgerSeq: z.number().int().positive().nullable(),
});
export type Receipt = z.infer<typeof receiptSchema>;

/** What the daemon records (id, time and actor are its own). */
export const receiptInputSchema = z.strictObject({
  kind: receiptKindSchema,
  summary: z.string().min(1).max(2000),
  detail: z.json().default(null),
  ledgerSeq: z.number().int().positive().nullable().default(null),
});
export type ReceiptInput = z.input<typeof receiptInputSchema>;

/** Most receipts one `receipt_list` call answers. */
export const RECEIPTS_MAX_LIMIT = 500;

/** `receipt_list`: newest first, optionally one kind, optionally from `since` on (inclusive). */
export const receiptListInputSchema = z.strictObject({
  kind: receiptKindSchema.optional(),
  since: timeSchema.optional(),
  limit: z.number().int().min(1).max(RECEIPTS_MAX_LIMIT).default(50),
});
export type ReceiptListInput = z.input<typeof receiptListInputSchema>;

export const receiptListAnswerSchema = z.object({ receipts: z.array(receiptSchema) });
export type ReceiptListAnswer = z.infer<typeof receiptListAnswerSchema>;

// ---- incidents --------------------------------------------------------------

export const incidentSeveritySchema = z.enum(['low', 'medium', 'high', 'critical']);
export type IncidentSeverity = z.infer<typeof incidentSeveritySchema>;

export const incidentStatusSchema = z.enum(['open', 'closed']);
export type IncidentStatus = z.infer<typeof incidentStatusSchema>;

/** One step of a troubleshooting: what was tried and what came of it, numbered from 1. */
export const incidentStepSchema = z.object({
  n: z.number().int().positive(),
  ts: timeSchema,
  actor: actorSchema,
  action: z.string(),
  result: z.string(),
});
export type IncidentStep = z.infer<typeof incidentStepSchema>;

/** An incident workspace with every step, oldest first. */
export const incidentSchema = z.object({
  id: z.string(),
  title: z.string(),
  severity: incidentSeveritySchema.nullable(),
  status: incidentStatusSchema,
  createdAt: timeSchema,
  /** Null while open. */
  closedAt: timeSchema.nullable(),
  /** Null while open. */
  resolution: z.string().nullable(),
  openedBy: actorSchema,
  /** Null while open. */
  closedBy: actorSchema.nullable(),
  steps: z.array(incidentStepSchema),
});
export type Incident = z.infer<typeof incidentSchema>;

/** An incident as lists show it: without its steps, with their count. */
export const incidentSummarySchema = incidentSchema.omit({ steps: true }).extend({
  stepCount: z.number().int().nonnegative(),
});
export type IncidentSummary = z.infer<typeof incidentSummarySchema>;

/** `incident_create`. */
export const incidentCreateInputSchema = z.strictObject({
  title: z.string().trim().min(1).max(200),
  severity: incidentSeveritySchema.optional(),
});
export type IncidentCreateInput = z.infer<typeof incidentCreateInputSchema>;

/** `incident_step`: one step on an open incident. */
export const incidentStepInputSchema = z.strictObject({
  id: z.string().min(1).max(128),
  action: z.string().trim().min(1).max(2000),
  result: z.string().max(20_000),
});
export type IncidentStepInput = z.infer<typeof incidentStepInputSchema>;

/** `incident_close`: how it ended (fixed, worked around, not reproducible, …). */
export const incidentCloseInputSchema = z.strictObject({
  id: z.string().min(1).max(128),
  resolution: z.string().trim().min(1).max(4000),
});
export type IncidentCloseInput = z.infer<typeof incidentCloseInputSchema>;

/** `incident_get`. */
export const incidentGetInputSchema = z.strictObject({ id: z.string().min(1).max(128) });
export type IncidentGetInput = z.infer<typeof incidentGetInputSchema>;

/** Most incidents one `incident_list` call answers. */
export const INCIDENTS_MAX_LIMIT = 500;

/** `incident_list`: newest first, optionally only open or only closed ones. */
export const incidentListInputSchema = z.strictObject({
  status: incidentStatusSchema.optional(),
  limit: z.number().int().min(1).max(INCIDENTS_MAX_LIMIT).default(100),
});
export type IncidentListInput = z.input<typeof incidentListInputSchema>;

export const incidentListAnswerSchema = z.object({ incidents: z.array(incidentSummarySchema) });
export type IncidentListAnswer = z.infer<typeof incidentListAnswerSchema>;

// ---- backups ----------------------------------------------------------------

/**
 * `bak_<UTC time to the ms>_<8 random>`: sorts by creation time, and its
 * fixed alphabet keeps it a single safe path segment (no `/`, no `..`).
 */
export const backupIdSchema = z
  .string()
  .regex(/^bak_\d{8}T\d{9}Z_[a-z0-9]{8}$/, 'malformed backup id (bak_<yyyymmdd>T<hhmmssmmm>Z_<8 chars>)');

/** What a backup holds: the ledger's and the records' databases, and the memory files. */
export const backupPartSchema = z.enum(['ledger', 'agent', 'memory']);
export type BackupPart = z.infer<typeof backupPartSchema>;

/**
 * A file's place inside a backup: `ledger.db`, `agent.db` or `memory/<relative path>`,
 * `/`-separated, never absolute and never with an empty, `.` or `..` segment.
 */
export const backupFilePathSchema = z
  .string()
  .max(4096)
  .refine(
    (p) =>
      /^(ledger\.db|agent\.db|memory\/.+)$/.test(p) &&
      !p.includes('\\') &&
      !p.includes('\0') &&
      p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'),
    'not a path a backup may hold',
  );

export const backupFileSchema = z.object({
  path: backupFilePathSchema,
  sizeBytes: z.number().int().nonnegative(),
  sha256: sha256Schema,
});
export type BackupFile = z.infer<typeof backupFileSchema>;

/** `manifest.json` at the root of every backup: the parts it captured and every file with its size and hash. */
export const backupManifestSchema = z.object({
  format: z.literal('fabric-backup/v1'),
  backupId: backupIdSchema,
  createdAt: timeSchema,
  parts: z.array(backupPartSchema),
  files: z.array(backupFileSchema),
});
export type BackupManifest = z.infer<typeof backupManifestSchema>;

/** `backup_create`'s answer. `sizeBytes` sums the files (manifest excluded). */
export const backupCreatedSchema = z.object({
  backupId: backupIdSchema,
  path: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  createdAt: timeSchema,
  parts: z.array(backupPartSchema),
  files: z.array(backupFileSchema),
});
export type BackupCreated = z.infer<typeof backupCreatedSchema>;

/** One backup as `backup_list` shows it; a damaged one (no manifest, a missing file) says why instead. */
export const backupListEntrySchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('ok'),
    backupId: backupIdSchema,
    path: z.string(),
    sizeBytes: z.number().int().nonnegative(),
    createdAt: timeSchema,
    parts: z.array(backupPartSchema),
    fileCount: z.number().int().nonnegative(),
  }),
  z.object({
    status: z.literal('damaged'),
    backupId: backupIdSchema,
    path: z.string(),
    reason: z.string(),
  }),
]);
export type BackupListEntry = z.infer<typeof backupListEntrySchema>;

export const backupListAnswerSchema = z.object({ backups: z.array(backupListEntrySchema) });
export type BackupListAnswer = z.infer<typeof backupListAnswerSchema>;

/** `backup_restore`. */
export const backupRestoreInputSchema = z.strictObject({ backupId: backupIdSchema });
export type BackupRestoreInput = z.infer<typeof backupRestoreInputSchema>;

/**
 * `backup_restore`'s answer: what was put back (`receipts`, `incidents`,
 * `memory`) and what was left as it is, with why (the ledger, always).
 * `reindexNeeded`: the memory files changed, so the memory index must be
 * rebuilt from them.
 */
export const backupRestoredSchema = z.object({
  restoredFrom: backupIdSchema,
  status: z.literal('restored'),
  restored: z.array(z.string()),
  skipped: z.array(z.object({ name: z.string(), reason: z.string() })),
  reindexNeeded: z.boolean(),
});
export type BackupRestored = z.infer<typeof backupRestoredSchema>;

// ---- agent card -------------------------------------------------------------

/** The registration file type of ERC-8004 ("Trustless Agents"), version 1. */
export const AGENT_CARD_TYPE = 'https://eips.ethereum.org/EIPS/eip-8004#registration-v1';

/** An ERC-8004 service: a name (`MCP`, `A2A`, `web`, `DID`, …), where to reach it, and (SHOULD) its version. */
export const agentCardServiceSchema = z.object({
  name: z.string().min(1).max(64),
  endpoint: z.string().min(1).max(2048),
  version: z.string().min(1).max(64).optional(),
});
export type AgentCardService = z.infer<typeof agentCardServiceSchema>;

/** An on-chain registration: token id in the registry `{namespace}:{chainId}:{address}`. */
export const agentCardRegistrationSchema = z.object({
  agentId: z.number().int().nonnegative(),
  agentRegistry: z.string().regex(/^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}:[-_.a-zA-Z0-9]{1,128}$/),
});
export type AgentCardRegistration = z.infer<typeof agentCardRegistrationSchema>;

const namedItemSchema = z.object({ name: z.string().min(1).max(128), description: z.string().max(4000) });

/** Fabric's own part of the card: which device, what it runs, what an agent can do on it. */
export const fabricAgentExtensionSchema = z.object({
  format: z.literal('fabric-agent/v1'),
  deviceId: deviceIdSchema,
  daemonVersion: z.string().max(64),
  platform: z.string().max(32),
  arch: z.string().max(32),
  harnesses: z.array(harnessInfoSchema),
  tools: z.array(namedItemSchema),
  skills: z.array(namedItemSchema),
  /** The device's ledger key (raw Ed25519, unpadded base64url) that signs its checkpoints; null when not known. */
  ledgerPublicKey: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/)
    .nullable(),
});
export type FabricAgentExtension = z.infer<typeof fabricAgentExtensionSchema>;

/**
 * The device agent's identity card: an ERC-8004 agent registration file
 * (https://eips.ethereum.org/EIPS/eip-8004, "Agent URI and Agent Registration
 * File"; field names as in ethereum/ERCs ERCS/erc-8004.md, where `services`
 * replaced the earlier drafts' `endpoints`) with Fabric's specifics under
 * `fabric`. A device is not registered on any chain, so `registrations` is
 * empty unless its owner registers it; `supportedTrust` is absent (the spec's
 * "discovery only").
 */
export const agentCardSchema = z.object({
  type: z.literal(AGENT_CARD_TYPE),
  name: z.string().min(1).max(128),
  description: z.string().max(4000),
  /** ERC-721 style image URL; omitted when there is none. */
  image: z.string().max(2048).optional(),
  services: z.array(agentCardServiceSchema),
  x402Support: z.boolean(),
  active: z.boolean(),
  registrations: z.array(agentCardRegistrationSchema),
  supportedTrust: z.array(z.string().min(1).max(64)).optional(),
  fabric: fabricAgentExtensionSchema,
});
export type AgentCard = z.infer<typeof agentCardSchema>;

// ---- skills -----------------------------------------------------------------

/** A skill's name: lowercase words joined by `-`, the same as its directory. */
export const skillNameSchema = z
  .string()
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'a skill name is lowercase words joined by -')
  .max(64);

/** A tool name as skills cite it (`system_query`). */
export const skillToolNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'a tool name is lowercase letters, digits and _');

/** The YAML frontmatter of a `SKILL.md`: unknown keys are refused. */
export const skillFrontmatterSchema = z.strictObject({
  name: skillNameSchema,
  description: z.string().min(1).max(1024),
  tools: z.array(skillToolNameSchema).default([]),
});
export type SkillFrontmatter = z.infer<typeof skillFrontmatterSchema>;

/** A loaded skill: its frontmatter and the markdown procedure after it. Served as an MCP prompt. */
export const skillSchema = skillFrontmatterSchema.extend({ body: z.string().min(1) });
export type Skill = z.infer<typeof skillSchema>;

import type { Generated } from 'kysely';

/**
 * Table shapes as Kysely sees them. Timestamps are epoch milliseconds in
 * BIGINT columns; JSON is stored as TEXT so every dialect reads it the same.
 */
export interface UsersTable {
  id: string;
  name: string;
  role: 'owner' | 'member';
  password_hash: string | null;
  created_at: number;
}

export interface CodesTable {
  /** sha256 of the code, hex; the code itself is never stored. */
  code_hash: string;
  kind: 'setup' | 'invite';
  role: 'owner' | 'member';
  created_by: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  used_by: string | null;
}

export interface SigningKeysTable {
  kid: string;
  secret: string;
  created_at: number;
  retired_at: number | null;
}

export interface PairingTokensTable {
  jti: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  device_id: string | null;
}

export interface DevicesTable {
  id: string;
  name: string;
  owner_id: string;
  created_at: number;
  last_seen_at: number | null;
  online: number;
  revoked_at: number | null;
  capabilities: string | null;
  draining: Generated<number>;
  priority: Generated<number>;
  vault_recipient: string | null;
}

export interface SessionsTable {
  id: string;
  harness: string;
  prompt: string;
  status: string;
  device_id: string | null;
  labels: string;
  cwd: string | null;
  exit_code: number | null;
  signal: string | null;
  error_code: string | null;
  error_message: string | null;
  created_by: string;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  last_seq: number;
  cancel_requested_at: number | null;
  permission_mode: string | null;
  model: string | null;
  harness_session_id: string | null;
  parent_id: string | null;
  /** JSON: why the session went where it went (or why it waits). */
  placement: string | null;
  queued_until: number | null;
  /** JSON array of device ids that did not acknowledge this session in time. */
  tried_devices: string | null;
  /** JSON array of vault entry names injected into the session. */
  credentials: string | null;
  /** The highest device sequence number (`dseq`) stored for this session; resends at or below it are duplicates. */
  device_seq: Generated<number>;
  /** A `lost` session fails when this passes without its device coming back. */
  lost_until: number | null;
}

export interface VaultSetsTable {
  version: number;
  vault_id: string;
  /** The signed recipient set as JSON, exactly as the client sent it. */
  body: string;
  created_at: number;
  created_by: string;
}

export interface VaultEntriesTable {
  name: string;
  ciphertext: string;
  version: number;
  set_version: number;
  updated_at: number;
  updated_by: string;
  needs_rotation: Generated<number>;
  /** User id of the entry's first writer; it and owners decide who else may use it. */
  creator_id: string | null;
  /** User id of whoever wrote the current value (a rewrap re-encrypts it and does not change this). */
  writer_id: string | null;
  /** `cli` or `browser`: the kind of client that wrote the current value. */
  writer_client: string | null;
  /** The writing client's recipient id in the set, when it named itself. */
  writer_client_id: string | null;
}

/** Who, besides an entry's creator and the owners, may use (and with `can_write`, overwrite) it. */
export interface VaultGrantsTable {
  name: string;
  user_id: string;
  can_write: Generated<number>;
  granted_by: string;
  granted_at: number;
}

/** One row per stored version of an entry: who wrote it, through which client, as a put or a rewrap. */
export interface VaultEntryWritesTable {
  id: string;
  name: string;
  version: number;
  kind: 'put' | 'rewrap';
  writer_id: string;
  client: string;
  client_id: string | null;
  written_at: number;
}

export interface VaultIdentitiesTable {
  id: string;
  kind: string;
  label: string;
  wrapped_by_passphrase: string | null;
  wrapped_by_passkey: string | null;
  canary: string | null;
  prf_salt: string | null;
  credential_id: string | null;
  created_at: number;
  created_by: string;
}

export interface VaultAccessLogTable {
  id: string;
  ts: number;
  actor: string;
  action: string;
  entry: string | null;
  detail: string | null;
}

export interface ApprovalsTable {
  request_id: string;
  session_id: string;
  tool: string;
  summary: string;
  status: 'pending' | 'allowed' | 'denied';
  reason: string | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  decided_by: string | null;
}

/** One usage report (a delta) from a harness, attributed for the fuel meter. */
export interface UsageTable {
  session_id: string;
  device_id: string | null;
  harness: string;
  ts: number;
  input: number;
  output: number;
  cached: number;
  cost_usd: number | null;
}

export interface SessionEventsTable {
  session_id: string;
  seq: number;
  kind: string;
  data: string | null;
  meta: string | null;
  ts: number;
}

export interface Database {
  users: UsersTable;
  codes: CodesTable;
  signing_keys: SigningKeysTable;
  pairing_tokens: PairingTokensTable;
  devices: DevicesTable;
  sessions: SessionsTable;
  session_events: SessionEventsTable;
  approvals: ApprovalsTable;
  usage: UsageTable;
  vault_sets: VaultSetsTable;
  vault_entries: VaultEntriesTable;
  vault_identities: VaultIdentitiesTable;
  vault_access_log: VaultAccessLogTable;
  vault_grants: VaultGrantsTable;
  vault_entry_writes: VaultEntryWritesTable;
  board_cards: BoardCardsTable;
  device_shares: DeviceSharesTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebauthnChallengesTable;
  push_vapid: PushVapidTable;
  push_subscriptions: PushSubscriptionsTable;
  push_sent: PushSentTable;
  ledger_anchors: LedgerAnchorsTable;
  ledger_checkpoints: LedgerCheckpointsTable;
  idempotency_keys: IdempotencyKeysTable;
}

/** A device shared with a person other than its pairer. */
export interface DeviceSharesTable {
  device_id: string;
  user_id: string;
  created_by: string;
  created_at: number;
}

export interface BoardCardsTable {
  id: string;
  title: string;
  prompt: string;
  harness: string;
  device_id: string | null;
  permission_mode: string;
  credentials: string;
  /** `column` is a reserved word in SQL. */
  column_name: string;
  position: number;
  session_id: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

/** A WebAuthn credential (passkey) a user enrolled; used for usernameless sign-in. */
export interface PasskeysTable {
  /** The credential id, base64url, as the authenticator made it. */
  id: string;
  user_id: string;
  /** COSE public key, base64url. */
  public_key: string;
  /** The authenticator's signature counter (0 for authenticators that do not count). */
  counter: number;
  /** JSON array of transports ("internal", "hybrid", ...) for allowCredentials hints. */
  transports: string;
  label: string;
  device_type: string;
  backed_up: number;
  created_at: number;
  last_used_at: number | null;
}

/** A pending WebAuthn ceremony: single use, a few minutes, bound to one browser by a cookie holding `id`. */
export interface WebauthnChallengesTable {
  id: string;
  challenge: string;
  purpose: 'register' | 'authenticate';
  /** The signed-in user for a registration; null for a usernameless sign-in. */
  user_id: string | null;
  rp_id: string;
  origin: string;
  expires_at: number;
}

/** The control plane's VAPID key pair (one row, made on first start). */
export interface PushVapidTable {
  id: string;
  public_key: string;
  private_key: string;
  created_at: number;
}

/** One browser's Web Push subscription for one user; the endpoint identifies the browser. */
export interface PushSubscriptionsTable {
  id: string;
  user_id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  created_at: number;
  last_sent_at: number | null;
}

/** Notifications already sent (key: `session:<id>:<status>` or `approval:<sessionId>:<requestId>`), so several nodes send each once. */
export interface PushSentTable {
  key: string;
  sent_at: number;
}

/**
 * One row per device whose ledger the control plane anchors: the Ed25519 key
 * pinned on its first accepted checkpoint (trust on first use) and the
 * highest seq accepted, which every later checkpoint is checked against.
 */
export interface LedgerAnchorsTable {
  device_id: string;
  /** Raw Ed25519 public key, unpadded base64url. */
  public_key: string;
  pinned_at: number;
  max_seq: number;
}

/** Every ledger checkpoint accepted from a device (signed by its anchor's key); never updated. */
export interface LedgerCheckpointsTable {
  device_id: string;
  seq: number;
  /** SHA-256 of the device's ledger event `seq`, hex. */
  head: string;
  /** When the device signed it (its clock). */
  at: number;
  /** Ed25519 signature, unpadded base64url. */
  signature: string;
  /** When the control plane accepted it (its clock). */
  received_at: number;
}

export type { Generated };

/** A claimed `Idempotency-Key` of `POST /api/sessions`: the session it created, kept for 24 h. */
export interface IdempotencyKeysTable {
  user_id: string;
  key: string;
  /** sha256 of the request body, so the same key with another body is refused. */
  body_hash: string;
  /** Reserved before the session is created, so a retry finds it even mid-create. */
  session_id: string;
  created_at: number;
}

import { z } from 'zod';

/**
 * Stable error codes. They reach the wire (`error` envelopes, HTTP bodies) and
 * the CLI, so a code is never renamed or reused; new ones are only added.
 */
export const errorCodes = [
  'bad_request',
  'unauthorized',
  'token_missing',
  'token_invalid',
  'token_expired',
  'forbidden',
  'not_found',
  'conflict',
  'rate_limited',
  'internal',
  'frame_too_large',
  'malformed_json',
  'invalid_envelope',
  'unknown_type',
  'device_not_found',
  'device_offline',
  'device_revoked',
  'device_timeout',
  'no_device',
  'session_not_found',
  'session_finished',
  'harness_unavailable',
  'command_not_allowed',
  'spawn_failed',
  'pairing_token_invalid',
  'invite_invalid',
  'login_failed',
  'setup_done',
  'server_unreachable',
  'not_logged_in',
  'vault_not_initialized',
  'credential_not_found',
  'credential_unavailable',
  'vault_locked',
  'cloud_only',
  'csrf',
  'passkey_required',
  'unsupported',
  'approval_denied',
  'path_not_allowed',
  'ledger_conflict',
  'sandbox_unavailable',
  'credential_forbidden',
  'data_dir_in_use',
  'port_in_use',
  'store_unavailable',
] as const;

export const errorCodeSchema = z.enum(errorCodes);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

/** HTTP status for each code when it answers a request. */
export const httpStatusFor: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  token_missing: 401,
  token_invalid: 401,
  token_expired: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  internal: 500,
  frame_too_large: 413,
  malformed_json: 400,
  invalid_envelope: 400,
  unknown_type: 400,
  device_not_found: 404,
  device_offline: 409,
  device_revoked: 401,
  device_timeout: 504,
  no_device: 409,
  session_not_found: 404,
  session_finished: 409,
  harness_unavailable: 422,
  command_not_allowed: 422,
  spawn_failed: 500,
  pairing_token_invalid: 401,
  invite_invalid: 401,
  login_failed: 401,
  setup_done: 409,
  server_unreachable: 503,
  not_logged_in: 401,
  vault_not_initialized: 404,
  credential_not_found: 404,
  credential_unavailable: 422,
  vault_locked: 401,
  cloud_only: 410,
  csrf: 403,
  /** Password sign-in from a browser that is not (or no longer) trusted, for an account with a passkey. */
  passkey_required: 401,
  /** This machine cannot do that (no systemd, a platform without the feature). */
  unsupported: 501,
  /** The owner said no (or nobody answered) to a destructive agent action. */
  approval_denied: 403,
  /** An agent action named a path it may not touch. */
  path_not_allowed: 403,
  /** A ledger checkpoint contradicts one already recorded (rollback, rewrite or a different key). */
  ledger_conflict: 409,
  /** The device cannot isolate this session (no bubblewrap, no user namespaces) and will not run it unisolated. */
  sandbox_unavailable: 422,
  /** The requester may not use (or overwrite) that vault entry. */
  credential_forbidden: 403,
  /** Another live `optimal up|serve|device` holds this data directory. */
  data_dir_in_use: 409,
  /** The port to listen on is taken by another process. */
  port_in_use: 409,
  /** The control plane's database (PostgreSQL) cannot be reached. */
  store_unavailable: 503,
};

/** Body of every non-2xx HTTP answer and payload of an `error` envelope. */
export const errorBodySchema = z.object({
  code: errorCodeSchema,
  message: z.string(),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/**
 * An expected failure with a stable code. Messages are short, lowercase, say
 * what to do, and never contain a secret (tokens, passwords, credentials).
 */
export class FabricError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'FabricError';
    this.code = code;
  }

  get status(): number {
    return httpStatusFor[this.code];
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

export function isFabricError(err: unknown): err is FabricError {
  return err instanceof FabricError;
}

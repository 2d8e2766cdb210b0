import { envelopeSchema, envelopeTypes, type Envelope } from './envelope.js';
import type { ErrorCode } from './errors.js';

/** Largest frame the application accepts (1 MiB). The socket's hard cap is higher. */
export const MAX_FRAME_BYTES = 1024 * 1024;

export type FrameResult =
  { ok: true; envelope: Envelope } | { ok: false; code: ErrorCode; message: string; corrId: string | null };

/**
 * Parse one NDJSON line into an envelope. Never throws: a bad frame yields the
 * precise code a peer needs (`frame_too_large`, `malformed_json`,
 * `unknown_type`, `invalid_envelope`) and, when it could be read, the frame's
 * corrId so the error can be correlated.
 *
 * `byteLength` is the frame's size on the wire; pass it when known (a socket
 * gives it for free), otherwise the UTF-16 length is used as an upper bound.
 */
export function parseFrame(raw: string, byteLength = raw.length, maxBytes = MAX_FRAME_BYTES): FrameResult {
  if (byteLength > maxBytes) {
    return {
      ok: false,
      code: 'frame_too_large',
      message: `frame of ${byteLength} bytes exceeds the ${maxBytes}-byte limit`,
      corrId: null,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, code: 'malformed_json', message: 'frame is not valid json', corrId: null };
  }
  return parseEnvelope(value);
}

/** Validate an already-decoded value as an envelope; same contract as {@link parseFrame}. */
export function parseEnvelope(value: unknown): FrameResult {
  const corrId = readCorrId(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'invalid_envelope', message: 'envelope must be a json object', corrId };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type === 'string' && !(envelopeTypes as string[]).includes(type)) {
    return {
      ok: false,
      code: 'unknown_type',
      message: `unknown envelope type ${JSON.stringify(type.slice(0, 64))}`,
      corrId,
    };
  }
  const parsed = envelopeSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'envelope';
    return {
      ok: false,
      code: 'invalid_envelope',
      message: `${where}: ${issue?.message ?? 'invalid'}`.toLowerCase(),
      corrId,
    };
  }
  return { ok: true, envelope: parsed.data };
}

function readCorrId(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const corrId = (value as { corrId?: unknown }).corrId;
  return typeof corrId === 'string' && corrId.length > 0 && corrId.length <= 128 ? corrId : null;
}

/** Serialise an envelope as one NDJSON line (without the trailing newline; ws frames delimit). */
export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope);
}

import { generateHybridIdentity, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { bech32 } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { utf8Bytes } from './bytes.js';
import { VaultError } from './errors.js';

/**
 * An age key pair as strings. `identity` is the secret ("AGE-SECRET-KEY-1…",
 * or "AGE-SECRET-KEY-PQ-1…" for an ML-KEM-768+X25519 hybrid); `recipient` is
 * the public half ("age1…" / "age1pq1…").
 */
export interface VaultIdentity {
  identity: string;
  recipient: string;
}

const X25519_PREFIX = 'AGE-SECRET-KEY-';
const HYBRID_PREFIX = 'AGE-SECRET-KEY-PQ-';

/** A fresh random identity: X25519 by default, the post-quantum hybrid on request. */
export async function generateIdentity(opts: { postQuantum?: boolean } = {}): Promise<VaultIdentity> {
  const identity = opts.postQuantum ? await generateHybridIdentity() : await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** The recipient of an identity. Throws `set_invalid` when the string is not an age identity. */
export async function recipientOf(identity: string): Promise<string> {
  if (
    typeof identity !== 'string' ||
    !(identity.startsWith(`${X25519_PREFIX}1`) || identity.startsWith(`${HYBRID_PREFIX}1`))
  ) {
    throw new VaultError('set_invalid', 'not an age identity');
  }
  try {
    return await identityToRecipient(identity);
  } catch {
    throw new VaultError('set_invalid', 'not an age identity');
  }
}

/** True for a post-quantum hybrid recipient ("age1pq1…"). A syntactic check: it does not parse the key. */
export function isPostQuantum(recipient: string): boolean {
  return recipient.startsWith('age1pq1');
}

/**
 * Short, human-comparable fingerprint of a recipient: the first 8 bytes of
 * SHA-256 over the recipient string, as four dash-separated groups of four
 * hex characters ("3f2a-9c01-…"). For comparing keys out of band, not for
 * security decisions in code (compare the full recipient there).
 */
export function fingerprint(recipient: string): string {
  const hex = bytesToHex(sha256(utf8Bytes(recipient)).subarray(0, 8));
  return `${hex.slice(0, 4)}-${hex.slice(4, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}`;
}

/**
 * The age identity whose secret is these 32 bytes. typage encodes both kinds
 * the same way: an X25519 identity is the raw scalar, a hybrid identity is the
 * 32-byte seed that ML-KEM-768+X25519 expands deterministically. That is what
 * makes recovery and passkey identities derivable, for either kind.
 */
export async function identityFromSecret(secret: Uint8Array, postQuantum: boolean): Promise<VaultIdentity> {
  if (secret.length !== 32) throw new RangeError('an identity secret is 32 bytes');
  const identity = bech32.encodeFromBytes(postQuantum ? HYBRID_PREFIX : X25519_PREFIX, secret).toUpperCase();
  return { identity, recipient: await identityToRecipient(identity) };
}

export type RecipientType = 'x25519' | 'hybrid';

/**
 * The type of a recipient string this package accepts, or null. Only native
 * X25519 ("age1…") and ML-KEM-768+X25519 hybrid ("age1pq1…") recipients are
 * allowed; tag recipients (hardware-bound, "age1tag…") are not part of a vault.
 * Checks the bech32 encoding and key length, like typage does.
 */
export function recipientType(recipient: string): RecipientType | null {
  if (typeof recipient !== 'string') return null;
  const hybrid = recipient.startsWith('age1pq1');
  if (!hybrid && (!recipient.startsWith('age1') || recipient.startsWith('age1tag'))) return null;
  // Hybrid recipients are ~1950 characters, past bech32's default 90-character limit.
  const decoded = bech32.decodeUnsafe(recipient, false);
  if (!decoded) return null;
  const bytes = bech32.fromWordsUnsafe(decoded.words);
  if (!bytes) return null;
  if (hybrid) return decoded.prefix === 'age1pq' && bytes.length === 1216 ? 'hybrid' : null;
  return decoded.prefix === 'age' && bytes.length === 32 ? 'x25519' : null;
}

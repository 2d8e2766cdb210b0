import { Decrypter, Encrypter } from 'age-encryption';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8Bytes, utf8Text, zero } from './bytes.js';
import { VaultError } from './errors.js';
import { DecryptFailure, decrypterFor, decryptWith, encrypterFor, encryptWith } from './entries.js';
import { identityFromSecret, type VaultIdentity } from './identity.js';

// Identities are strings; a wrapped identity is an armored age file holding
// that string. A passphrase (scrypt) stanza cannot share a file with other
// recipients (typage refuses), so each unlock path gets its own blob.

/** typage's default scrypt work factor (log2 N), and the highest its decrypter accepts. */
export const DEFAULT_WORK_FACTOR = 18;
const MAX_WORK_FACTOR = 20;

/** HKDF-SHA256 info strings for passkey-derived identities (versioned; never change one in place). */
export const PASSKEY_INFO = {
  x25519: 'fabric-vault/passkey/x25519/v1',
  hybrid: 'fabric-vault/passkey/mlkem768x25519/v1',
} as const;

/**
 * Wrap a secret (an identity or encoded signer) with a passphrase, as an
 * armored age scrypt file. `workFactor` is log2 of scrypt's N (default 18,
 * as typage; at most 20, the most typage will open). Tests may lower it; real
 * callers should not.
 */
export async function wrapWithPassphrase(
  secret: string,
  passphrase: string,
  opts: { workFactor?: number } = {},
): Promise<string> {
  const workFactor = opts.workFactor ?? DEFAULT_WORK_FACTOR;
  if (!Number.isInteger(workFactor) || workFactor < 1 || workFactor > MAX_WORK_FACTOR) {
    throw new RangeError(`the scrypt work factor is an integer from 1 to ${MAX_WORK_FACTOR}`);
  }
  if (passphrase.length === 0) throw new RangeError('the passphrase is empty');
  const encrypter = new Encrypter();
  encrypter.setPassphrase(passphrase);
  encrypter.setScryptWorkFactor(workFactor);
  const bytes = utf8Bytes(secret);
  try {
    return await encryptWith(encrypter, bytes);
  } finally {
    zero(bytes);
  }
}

/**
 * Open a passphrase-wrapped secret. Throws `passphrase_wrong` when the
 * passphrase does not open it (or it is not a passphrase blob), and
 * `decrypt_failed` when the blob is damaged.
 */
export async function unwrapWithPassphrase(blob: string, passphrase: string): Promise<string> {
  const decrypter = new Decrypter();
  decrypter.addPassphrase(passphrase);
  let bytes: Uint8Array;
  try {
    bytes = await decryptWith(decrypter, blob);
  } catch (err) {
    // A work factor above 20 or a scrypt stanza next to others also lands
    // here as damage: no blob this package writes looks like that.
    if (err instanceof DecryptFailure && err.noMatch) throw new VaultError('passphrase_wrong', 'wrong passphrase');
    throw new VaultError('decrypt_failed', 'the wrapped key is damaged');
  }
  return textOnce(bytes);
}

/**
 * The identity of a passkey: its WebAuthn PRF output (32 bytes) and the PRF
 * salt stored for it, through HKDF-SHA256 (info "fabric-vault/passkey/x25519/v1").
 * Deterministic, so one authenticator prompt per unlock opens the browser
 * identity wrapped to its recipient. The PRF output can change for the same
 * credential (Safari, export/import): check the canary before trusting it.
 *
 * `postQuantum` (an addition) derives a hybrid identity instead, so that a
 * post-quantum vault's browser identity is not wrapped under X25519 alone.
 */
export async function passkeyIdentity(
  prfOutput: Uint8Array,
  salt: Uint8Array,
  opts: { postQuantum?: boolean } = {},
): Promise<VaultIdentity> {
  if (!(prfOutput instanceof Uint8Array) || prfOutput.length !== 32) throw new RangeError('a prf output is 32 bytes');
  if (!(salt instanceof Uint8Array) || salt.length === 0) throw new RangeError('the prf salt is empty');
  const postQuantum = opts.postQuantum === true;
  const secret = hkdf(sha256, prfOutput, salt, utf8Bytes(postQuantum ? PASSKEY_INFO.hybrid : PASSKEY_INFO.x25519), 32);
  try {
    return await identityFromSecret(secret, postQuantum);
  } finally {
    zero(secret);
  }
}

/** Wrap a secret to one recipient (a passkey's, or another device's), as an armored age file. */
export async function wrapToRecipient(secret: string, recipient: string): Promise<string> {
  const bytes = utf8Bytes(secret);
  try {
    return await encryptWith(encrypterFor([recipient]), bytes);
  } finally {
    zero(bytes);
  }
}

/** Open a blob made by {@link wrapToRecipient}; `decrypt_failed` when this identity cannot. */
export async function unwrapWithIdentity(blob: string, identity: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await decryptWith(await decrypterFor([identity]), blob);
  } catch (err) {
    if (err instanceof DecryptFailure) {
      throw new VaultError(
        'decrypt_failed',
        err.noMatch ? 'this key cannot open the wrapped key' : 'the wrapped key is damaged',
      );
    }
    throw err;
  }
  return textOnce(bytes);
}

function textOnce(bytes: Uint8Array): string {
  try {
    return utf8Text(bytes);
  } catch {
    throw new VaultError('decrypt_failed', 'the wrapped key is damaged');
  } finally {
    zero(bytes);
  }
}

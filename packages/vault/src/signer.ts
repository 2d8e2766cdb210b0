import { ed25519 } from '@noble/curves/ed25519.js';
import { bech32 } from '@scure/base';
import { fromBase64url, toBase64url } from './bytes.js';
import { VaultError } from './errors.js';

/**
 * An Ed25519 key that signs recipient sets. `publicKey` is the unpadded
 * base64url of the 32-byte public key (what a recipient entry's `signer`
 * holds); `secretKey` is the 32-byte RFC 8032 seed.
 */
export interface Signer {
  publicKey: string;
  secretKey: Uint8Array;
}

const SIGNER_PREFIX = 'FABRIC-SIGNER-SECRET-KEY-';

/** A fresh random signer. */
export function generateSigner(): Signer {
  return signerFromSecret(ed25519.utils.randomSecretKey());
}

/** The signer of a 32-byte Ed25519 seed. The secret is copied. */
export function signerFromSecret(secretKey: Uint8Array): Signer {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32)
    throw new RangeError('an ed25519 secret key is 32 bytes');
  const secret = Uint8Array.from(secretKey);
  return { publicKey: toBase64url(ed25519.getPublicKey(secret)), secretKey: secret };
}

/**
 * A signer as a string for storage (to be wrapped like an identity):
 * bech32 "FABRIC-SIGNER-SECRET-KEY-1…", in the style of age identities, so a
 * damaged copy fails its checksum instead of becoming another key.
 */
export function encodeSigner(s: Signer): string {
  return bech32.encodeFromBytes(SIGNER_PREFIX, s.secretKey).toUpperCase();
}

/** Inverse of {@link encodeSigner}; `set_invalid` when the string is not one. */
export function decodeSigner(s: string): Signer {
  const decoded = typeof s === 'string' ? bech32.decodeUnsafe(s) : undefined;
  const bytes = decoded ? bech32.fromWordsUnsafe(decoded.words) : undefined;
  if (!decoded || decoded.prefix.toUpperCase() !== SIGNER_PREFIX || !bytes || bytes.length !== 32) {
    throw new VaultError('set_invalid', 'not a fabric signer key');
  }
  return signerFromSecret(bytes);
}

/** Sign bytes with a signer; base64url signature. */
export function signBytes(message: Uint8Array, signer: Signer): string {
  return toBase64url(ed25519.sign(message, signer.secretKey));
}

/** Verify a base64url signature by a base64url public key; false for anything malformed. */
export function verifyBytes(signature: string, message: Uint8Array, publicKey: string): boolean {
  const sig = fromBase64url(signature);
  const pub = fromBase64url(publicKey);
  if (!sig || !pub || sig.length !== 64 || pub.length !== 32) return false;
  try {
    return ed25519.verify(sig, message, pub);
  } catch {
    return false;
  }
}

/** True when the string is a well-formed signer public key. */
export function isSignerPublicKey(publicKey: string): boolean {
  const pub = fromBase64url(publicKey);
  return pub !== null && pub.length === 32;
}

import { entropyToMnemonic, generateMnemonic, mnemonicToEntropy } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8Bytes, zero } from './bytes.js';
import { VaultError } from './errors.js';
import { identityFromSecret, type VaultIdentity } from './identity.js';
import { signerFromSecret, type Signer } from './signer.js';

/**
 * HKDF-SHA256 info strings. Versioned so a future derivation can coexist with
 * this one; never change one in place, or existing phrases open nothing.
 */
export const RECOVERY_INFO = {
  x25519: 'fabric-vault/recovery/x25519/v1',
  hybrid: 'fabric-vault/recovery/mlkem768x25519/v1',
  ed25519: 'fabric-vault/recovery/ed25519/v1',
} as const;

const PHRASE_WORDS = 24;
const words = new Set(wordlist);

/** A new 24-word BIP39 phrase (256 bits of entropy, English wordlist). */
export function newRecoveryPhrase(): string {
  return generateMnemonic(wordlist, 256);
}

/** NFKD, trimmed, lowercase, words separated by single spaces. */
export function normalizePhrase(input: string): string {
  return input.normalize('NFKD').toLowerCase().trim().split(/\s+/u).filter(Boolean).join(' ');
}

/**
 * Throws unless `input` is a valid 24-word phrase. Unknown words are reported
 * first, by position (`phrase_invalid`), then a wrong word count
 * (`phrase_invalid`), then a failed checksum (`phrase_checksum`: a wrong but
 * real word, or two words swapped). A mistyped phrase therefore never turns
 * into a wrong key. Note the checksum is 8 bits: one wrong real word slips
 * through 1 time in 256, and then the derived key opens nothing (the canary
 * and every entry fail with `decrypt_failed`).
 */
export function validatePhrase(input: string): void {
  entropyOf(input);
}

/** The 32-byte entropy of a valid phrase; the caller zeroes it. */
function entropyOf(input: string): Uint8Array {
  const normalized = normalizePhrase(input);
  const list = normalized === '' ? [] : normalized.split(' ');
  list.forEach((w, i) => {
    // The position, not the word: even a mistyped word is part of the secret.
    if (!words.has(w))
      throw new VaultError('phrase_invalid', `word ${i + 1} is not a recovery word; check its spelling`);
  });
  if (list.length !== PHRASE_WORDS) {
    throw new VaultError('phrase_invalid', `a recovery phrase has ${PHRASE_WORDS} words, this has ${list.length}`);
  }
  try {
    return mnemonicToEntropy(normalized, wordlist);
  } catch {
    throw new VaultError('phrase_checksum', 'the words do not check out: one is wrong or out of order');
  }
}

function derive(phrase: string, info: string): Uint8Array {
  const entropy = entropyOf(phrase);
  try {
    // HKDF over the entropy, not mnemonicToSeed: the seed is computed from the
    // words without the checksum, so it would accept a mistyped phrase and
    // quietly give another key. No salt: the entropy is already uniform.
    return hkdf(sha256, entropy, undefined, utf8Bytes(info), 32);
  } finally {
    zero(entropy);
  }
}

/**
 * The recovery identity of a phrase: the same phrase gives the same identity
 * on every machine and browser. With `postQuantum`, an ML-KEM-768+X25519
 * hybrid identity, derived the same way from a separate info string (typage's
 * hybrid identity is a 32-byte seed, so it can be derived). Throws what
 * {@link validatePhrase} throws.
 */
export async function recoveryIdentity(phrase: string, opts: { postQuantum?: boolean } = {}): Promise<VaultIdentity> {
  const postQuantum = opts.postQuantum === true;
  const secret = derive(phrase, postQuantum ? RECOVERY_INFO.hybrid : RECOVERY_INFO.x25519);
  try {
    return await identityFromSecret(secret, postQuantum);
  } finally {
    zero(secret);
  }
}

/** The phrase's Ed25519 signer, so recovery can sign a new recipient set. */
export function recoverySigner(phrase: string): Signer {
  const secret = derive(phrase, RECOVERY_INFO.ed25519);
  try {
    return signerFromSecret(secret);
  } finally {
    zero(secret);
  }
}

/** The phrase for 32 bytes of entropy (for fixtures and tests; real phrases come from {@link newRecoveryPhrase}). */
export function phraseFromEntropy(entropy: Uint8Array): string {
  if (entropy.length !== 32) throw new RangeError('a 24-word phrase holds 32 bytes of entropy');
  return entropyToMnemonic(entropy, wordlist);
}

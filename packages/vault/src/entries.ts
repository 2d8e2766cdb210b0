import { Decrypter, Encrypter, armor } from 'age-encryption';
import { bech32 } from '@scure/base';
import { utf8Bytes, zero } from './bytes.js';
import { VaultError } from './errors.js';
import { recipientType } from './identity.js';
import { subtle, type WebCryptoKey } from './web.js';

/**
 * An Encrypter for a vault's recipient set. Every file goes to the whole set;
 * a file is either all classic X25519 or all post-quantum hybrid, since a
 * classic stanza next to a hybrid one would let a quantum attacker in through
 * the classic one. Throws `set_invalid` for an empty set or a string that is
 * not an X25519 or hybrid age recipient, `set_mixed_kinds` for a mix.
 */
export function encrypterFor(recipients: readonly string[]): Encrypter {
  if (recipients.length === 0) throw new VaultError('set_invalid', 'an entry needs at least one recipient');
  const types = new Set<string>();
  const encrypter = new Encrypter();
  recipients.forEach((r, i) => {
    const type = recipientType(r);
    if (type === null)
      throw new VaultError('set_invalid', `recipient ${i + 1} is not an age x25519 or post-quantum recipient`);
    types.add(type);
    encrypter.addRecipient(r);
  });
  if (types.size > 1)
    throw new VaultError('set_mixed_kinds', 'classic and post-quantum recipients cannot share a file');
  return encrypter;
}

/** A Decrypter holding these identities; `decrypt_failed` when one does not parse (the message never echoes it). */
export async function decrypterFor(identities: readonly string[]): Promise<Decrypter> {
  if (identities.length === 0) throw new VaultError('decrypt_failed', 'no key to decrypt with');
  const decrypter = new Decrypter();
  for (const [i, id] of identities.entries()) {
    const malformed = () => new VaultError('decrypt_failed', `key ${i + 1} is not an age identity`);
    if (typeof id !== 'string') throw malformed();
    let key: WebCryptoKey | null;
    try {
      key = await x25519Key(id);
    } catch {
      throw malformed();
    }
    try {
      // typage's CryptoKey type comes from the DOM lib, which this package does not load.
      decrypter.addIdentity((key ?? id) as Parameters<Decrypter['addIdentity']>[0]);
    } catch {
      throw malformed();
    }
  }
  return decrypter;
}

/** PKCS#8 header of an X25519 private key (RFC 8410), the same constant typage uses to import one. */
const X25519_PKCS8_PREFIX = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20,
);

/**
 * An X25519 identity as a non-extractable Web Crypto key, or null (a hybrid
 * identity, or no X25519 in this Web Crypto). Why: given the string, typage
 * re-imports the private key for every stanza it tries, and a PKCS#8 import
 * costs more than the Diffie-Hellman itself (about 0.4 ms in Node 20); the
 * key is imported once here instead, which halves a three-recipient decrypt.
 * Throws when the string is a malformed X25519 identity.
 */
async function x25519Key(identity: string): Promise<WebCryptoKey | null> {
  const api = subtle();
  if (!api || !identity.startsWith('AGE-SECRET-KEY-1')) return null;
  const { prefix, bytes: scalar } = bech32.decodeToBytes(identity); // throws when malformed
  if (prefix.toUpperCase() !== 'AGE-SECRET-KEY-' || scalar.length !== 32) throw new Error('invalid identity');
  const pkcs8 = new Uint8Array(X25519_PKCS8_PREFIX.length + 32);
  pkcs8.set(X25519_PKCS8_PREFIX);
  pkcs8.set(scalar, X25519_PKCS8_PREFIX.length);
  try {
    return await api.importKey('pkcs8', pkcs8, { name: 'X25519' }, false, ['deriveBits']);
  } catch {
    return null; // Older browsers: typage falls back to its own X25519 with the string.
  } finally {
    zero(scalar, pkcs8);
  }
}

/** Encrypt and armor. */
export async function encryptWith(encrypter: Encrypter, plaintext: Uint8Array): Promise<string> {
  return armor.encode(await encrypter.encrypt(plaintext));
}

/**
 * Open an armored file. The failure says whether no identity matched
 * (`noMatch`) or the file is damaged, without ever echoing content.
 */
export async function decryptWith(decrypter: Decrypter, armored: string): Promise<Uint8Array> {
  let file: Uint8Array;
  try {
    file = armor.decode(armored);
  } catch {
    throw new DecryptFailure(false);
  }
  try {
    return await decrypter.decrypt(file);
  } catch (err) {
    // typage 0.3 signals "none of my identities has a stanza here" with this
    // message; everything else (bad header MAC, bad payload) is damage.
    const noMatch = err instanceof Error && err.message.includes('no identity matched');
    throw new DecryptFailure(noMatch);
  }
}

/** Internal: why a decryption failed, turned into the right VaultError by each caller. */
export class DecryptFailure extends Error {
  constructor(readonly noMatch: boolean) {
    super(noMatch ? 'no identity matched' : 'damaged');
  }
}

function entryFailure(err: unknown, what = 'the entry'): never {
  if (err instanceof DecryptFailure) {
    throw new VaultError(
      'decrypt_failed',
      err.noMatch ? `none of these keys can open ${what}` : `${what} is damaged and cannot be decrypted`,
    );
  }
  throw err;
}

/**
 * Encrypt an entry to the whole recipient set; returns an ASCII-armored age
 * file. A string is encoded as UTF-8. The caller keeps ownership of (and
 * should zero) a Uint8Array plaintext.
 */
export async function encryptEntry(plaintext: Uint8Array | string, recipients: readonly string[]): Promise<string> {
  const encrypter = encrypterFor(recipients);
  if (typeof plaintext === 'string') {
    const bytes = utf8Bytes(plaintext);
    try {
      return await encryptWith(encrypter, bytes);
    } finally {
      zero(bytes);
    }
  }
  return encryptWith(encrypter, plaintext);
}

/**
 * Decrypt an armored entry with any of these identities. The returned buffer
 * belongs to the caller, who should zero it when done. Throws
 * `decrypt_failed` when no identity matches or the file is damaged.
 */
export async function decryptEntry(armored: string, identities: readonly string[]): Promise<Uint8Array> {
  const decrypter = await decrypterFor(identities);
  try {
    return await decryptWith(decrypter, armored);
  } catch (err) {
    return entryFailure(err);
  }
}

/** Decrypt with `identities` and re-encrypt to `recipients`; the plaintext is zeroed before returning. */
export async function rewrap(
  armored: string,
  identities: readonly string[],
  recipients: readonly string[],
): Promise<string> {
  const [result] = await rewrapAll([{ ciphertext: armored }], identities, recipients);
  return result!.ciphertext;
}

/** Options for {@link rewrapAll} beyond the positional arguments. */
export interface RewrapOptions {
  /**
   * Called with each plaintext buffer right after it was zeroed, so a caller
   * (or a test) can confirm nothing readable is left. The buffer holds only
   * zeros by then.
   */
  onZeroed?: (buffer: Uint8Array) => void;
  /**
   * Entries in flight at once (default 4). Web Crypto runs X25519 off the
   * main thread in Node, so a few in flight keep both sides busy; at most
   * this many plaintexts exist at any moment.
   */
  concurrency?: number;
}

/**
 * Rewrap many entries, e.g. after a revocation: each is decrypted with
 * `identities`, re-encrypted to `recipients` and its plaintext zeroed at once
 * (even when re-encryption fails). Returns copies of the entries with the new
 * ciphertext, in the same order; the input is not modified. All or nothing:
 * an entry that cannot be decrypted throws `decrypt_failed` naming its
 * position, once the entries already in flight are done (and zeroed); nothing
 * is returned. `onProgress(done, total)` is called as each entry completes.
 */
export async function rewrapAll<T extends { ciphertext: string }>(
  entries: readonly T[],
  identities: readonly string[],
  recipients: readonly string[],
  onProgress?: (done: number, total: number) => void,
  options: RewrapOptions = {},
): Promise<(T & { ciphertext: string })[]> {
  // One Encrypter and one Decrypter for the whole batch: keys are parsed and
  // imported once.
  const encrypter = encrypterFor(recipients);
  const decrypter = await decrypterFor(identities);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const total = entries.length;
  const out = new Array<T & { ciphertext: string }>(total);
  let next = 0;
  let done = 0;
  const failures: unknown[] = []; // the first one ends every worker

  const one = async (i: number) => {
    const entry = entries[i]!;
    let plaintext: Uint8Array;
    try {
      plaintext = await decryptWith(decrypter, entry.ciphertext);
    } catch (err) {
      entryFailure(err, `entry ${i + 1}`);
    }
    try {
      out[i] = { ...entry, ciphertext: await encryptWith(encrypter, plaintext) };
    } finally {
      zero(plaintext);
      options.onZeroed?.(plaintext);
    }
    onProgress?.(++done, total);
  };
  const worker = async () => {
    while (failures.length === 0 && next < total) {
      try {
        await one(next++);
      } catch (err) {
        failures.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  if (failures.length > 0) throw failures[0];
  return out;
}

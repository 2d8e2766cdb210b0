import { sha256 } from '@noble/hashes/sha2.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { toBase64url, utf8Bytes } from './bytes.js';
import { canonicalJson } from './canonical.js';
import { VaultError } from './errors.js';
import { recipientType } from './identity.js';
import { isSignerPublicKey, signBytes, verifyBytes, type Signer } from './signer.js';

export type RecipientKind = 'browser' | 'device' | 'cli' | 'recovery';

/** One party that can decrypt the vault. `signer` is its Ed25519 public key (base64url) when it may sign the next set. */
export interface RecipientEntry {
  id: string;
  kind: RecipientKind;
  recipient: string;
  label: string;
  signer: string | null;
  addedAt: number;
}

export interface UnsignedRecipientSet {
  vaultId: string;
  version: number;
  postQuantum: boolean;
  recipients: RecipientEntry[];
  /** {@link setHash} of version − 1; null exactly for version 1. */
  previousHash: string | null;
  createdAt: number;
}

export interface RecipientSet extends UnsignedRecipientSet {
  signedBy: string;
  signature: string;
}

/** What a client remembers about the last set it verified. */
export interface TrustedSetState {
  vaultId: string;
  version: number;
  hash: string;
  signers: string[];
}

/**
 * Domain separation for the signature: these keys sign nothing else today,
 * and a future format cannot be confused with this one.
 */
const SIGNATURE_CONTEXT = 'fabric-vault/recipient-set/v1\n';
const KINDS: readonly string[] = ['browser', 'device', 'cli', 'recovery'];

/**
 * The signed bytes: the context line, then the canonical JSON of every field
 * of the set except `signature` (so `signedBy` is covered, and so is any field
 * a later version adds).
 */
function signedBytes(set: object): Uint8Array {
  const { signature: _signature, ...body } = set as Record<string, unknown>;
  return utf8Bytes(SIGNATURE_CONTEXT + canonicalJson(body));
}

/** SHA-256 (unpadded base64url) of the canonical JSON of the whole signed set: what the next version's previousHash must equal. */
export function setHash(set: RecipientSet): string {
  return toBase64url(sha256(utf8Bytes(canonicalJson(set))));
}

/** The signer keys of a set's recipients, in order. */
export function signersOf(set: UnsignedRecipientSet): string[] {
  return set.recipients.flatMap((r) => (r.signer === null ? [] : [r.signer]));
}

/**
 * The unsigned successor of a verified set (an addition): same vault and kind,
 * version + 1, previousHash = setHash(previous), the given recipients.
 */
export function nextUnsignedSet(
  previous: RecipientSet,
  recipients: RecipientEntry[],
  createdAt: number,
): UnsignedRecipientSet {
  return {
    vaultId: previous.vaultId,
    version: previous.version + 1,
    postQuantum: previous.postQuantum,
    recipients: recipients.map((r) => ({ ...r })),
    previousHash: setHash(previous),
    createdAt,
  };
}

/**
 * Sign a set. Enforced first (each a `VaultError`): a well-formed set
 * (`set_invalid`); every recipient classic when `postQuantum` is false and
 * every one hybrid when it is true (`set_mixed_kinds`); unique ids,
 * recipients and signer keys (`set_invalid`); and the signer must be the
 * `signer` of one of the set's own entries (`set_invalid`), so every valid set
 * names its signer as a member. Returns a copy; the input is not modified.
 */
export function signRecipientSet(unsigned: UnsignedRecipientSet, signer: Signer): RecipientSet {
  const shape = shapeProblem(unsigned, false);
  if (shape) throw new VaultError('set_invalid', shape);
  checkMembers(unsigned);
  if (
    !(signer.secretKey instanceof Uint8Array) ||
    signer.secretKey.length !== 32 ||
    toBase64url(ed25519.getPublicKey(signer.secretKey)) !== signer.publicKey
  ) {
    throw new VaultError('set_invalid', 'the signer key pair does not match');
  }
  if (!signersOf(unsigned).includes(signer.publicKey)) {
    throw new VaultError('set_invalid', 'the signer is not a signer of this set');
  }
  const body = {
    vaultId: unsigned.vaultId,
    version: unsigned.version,
    postQuantum: unsigned.postQuantum,
    recipients: unsigned.recipients.map((r) => ({
      id: r.id,
      kind: r.kind,
      recipient: r.recipient,
      label: r.label,
      signer: r.signer,
      addedAt: r.addedAt,
    })),
    previousHash: unsigned.previousHash,
    createdAt: unsigned.createdAt,
    signedBy: signer.publicKey,
  };
  return { ...body, signature: signBytes(signedBytes(body), signer) };
}

/**
 * Verify a set the server handed us, against what this client trusted before.
 *
 * First contact (`trusted` null) is trust on first use: the set (or the first
 * set of `chain`) is accepted when it is well-formed, its signature verifies
 * and its signer is one of its own members; version 1 must have a null
 * previousHash. A server that is already hostile at a client's very first
 * fetch could show it a forged vault, so a new client should start from
 * state handed over by an enrolled one (pairing) or compare fingerprints.
 *
 * With trusted state: the same vaultId (`set_invalid`); a lower version is
 * `set_rollback`; the same version must hash to `trusted.hash` (`set_tampered`).
 * Each version after the trusted one is checked in order, the intermediate
 * ones taken from `chain` (any order; entries outside the range are ignored;
 * a missing one is `set_invalid`): its signature must verify over the
 * canonical fields (`set_tampered`; none at all is `set_unsigned`), it must be
 * well-formed (`set_invalid`) and of one kind (`set_mixed_kinds`), its
 * signedBy must be a signer of the previous version (`set_signer_untrusted`),
 * and its previousHash must equal the previous version's hash (`set_tampered`:
 * a forked history).
 *
 * Returns the state to remember for the newest version.
 */
export function verifyRecipientSet(
  set: RecipientSet,
  trusted: TrustedSetState | null,
  chain: readonly RecipientSet[] = [],
): TrustedSetState {
  checkSignedShape(set);
  if (trusted !== null) {
    if (set.vaultId !== trusted.vaultId) throw new VaultError('set_invalid', 'the recipient set is for another vault');
    if (set.version < trusted.version) {
      throw new VaultError(
        'set_rollback',
        `the server sent recipient set version ${set.version}, older than the trusted version ${trusted.version}`,
      );
    }
    if (set.version === trusted.version) {
      if (setHash(set) !== trusted.hash)
        throw new VaultError(
          'set_tampered',
          `recipient set version ${set.version} differs from the one this client trusts`,
        );
      return { ...trusted, signers: [...trusted.signers] };
    }
  }
  let state = trusted;
  for (const s of [...between(chain, trusted, set), set]) state = verifyStep(s, state);
  return state!;
}

/** The sets strictly between the trusted version and `set`, in order. */
function between(chain: readonly RecipientSet[], trusted: TrustedSetState | null, set: RecipientSet): RecipientSet[] {
  const low = trusted?.version ?? 0;
  const byVersion = new Map<number, RecipientSet>();
  for (const c of chain) {
    checkSignedShape(c);
    if (c.version <= low || c.version >= set.version) continue;
    if (byVersion.has(c.version)) throw new VaultError('set_invalid', `the chain holds version ${c.version} twice`);
    byVersion.set(c.version, c);
  }
  const versions = [...byVersion.keys()].sort((a, b) => a - b);
  // With trusted state every version after it is needed; on first contact the
  // chain may start anywhere, but must run without gaps up to `set`.
  const from = trusted !== null ? low + 1 : (versions[0] ?? set.version);
  const out: RecipientSet[] = [];
  for (let v = from; v < set.version; v++) {
    const s = byVersion.get(v);
    if (!s)
      throw new VaultError(
        'set_invalid',
        `recipient set version ${v} is missing: fetch the versions between ${low} and ${set.version}`,
      );
    out.push(s);
  }
  return out;
}

function verifyStep(set: RecipientSet, state: TrustedSetState | null): TrustedSetState {
  checkSignedShape(set);
  if (!verifyBytes(set.signature, signedBytes(set), set.signedBy)) {
    throw new VaultError('set_tampered', `recipient set version ${set.version} was changed after it was signed`);
  }
  checkMembers(set);
  const signers = signersOf(set);
  if (!signers.includes(set.signedBy)) {
    throw new VaultError(
      'set_signer_untrusted',
      `recipient set version ${set.version} is signed by a key that is not in it`,
    );
  }
  if (state !== null) {
    if (set.vaultId !== state.vaultId) throw new VaultError('set_invalid', 'the recipient set is for another vault');
    if (!state.signers.includes(set.signedBy)) {
      throw new VaultError(
        'set_signer_untrusted',
        `recipient set version ${set.version} is signed by a key that was not trusted in version ${state.version}`,
      );
    }
    if (set.previousHash !== state.hash) {
      throw new VaultError(
        'set_tampered',
        `recipient set version ${set.version} does not follow the trusted version ${state.version}`,
      );
    }
  }
  return { vaultId: set.vaultId, version: set.version, hash: setHash(set), signers };
}

function checkSignedShape(set: RecipientSet): void {
  const shape = shapeProblem(set, true);
  if (shape) throw new VaultError('set_invalid', shape);
  if (
    typeof set.signedBy !== 'string' ||
    set.signedBy === '' ||
    typeof set.signature !== 'string' ||
    set.signature === ''
  ) {
    throw new VaultError('set_unsigned', `recipient set version ${set.version} is not signed`);
  }
}

/** One kind of recipient matching `postQuantum`; unique ids, recipients and signers. */
function checkMembers(set: UnsignedRecipientSet): void {
  const want = set.postQuantum ? 'hybrid' : 'x25519';
  set.recipients.forEach((r, i) => {
    const type = recipientType(r.recipient);
    if (type === null)
      throw new VaultError('set_invalid', `recipient ${i + 1} is not an age x25519 or post-quantum recipient`);
    if (type !== want) {
      throw new VaultError(
        'set_mixed_kinds',
        set.postQuantum
          ? 'a post-quantum vault takes only age1pq1 recipients'
          : 'a classic vault takes only age1 x25519 recipients',
      );
    }
  });
  const unique = (values: string[], what: string) => {
    if (new Set(values).size !== values.length) throw new VaultError('set_invalid', `two recipients share ${what}`);
  };
  unique(
    set.recipients.map((r) => r.id),
    'an id',
  );
  unique(
    set.recipients.map((r) => r.recipient),
    'a key',
  );
  unique(signersOf(set), 'a signer key');
}

/** Why a value is not a (signed) recipient set, or null. Signature fields absent are left to the caller (`set_unsigned`). */
function shapeProblem(value: unknown, signed: boolean): string | null {
  if (typeof value !== 'object' || value === null) return 'not a recipient set';
  const s = value as Record<string, unknown>;
  if (typeof s.vaultId !== 'string' || s.vaultId === '') return 'the set has no vault id';
  if (!Number.isSafeInteger(s.version) || (s.version as number) < 1) return 'the set version is not a positive integer';
  if (typeof s.postQuantum !== 'boolean') return 'the set does not say whether it is post-quantum';
  if (!Array.isArray(s.recipients) || s.recipients.length === 0) return 'the set has no recipients';
  for (const [i, r] of (s.recipients as unknown[]).entries()) {
    const problem = entryProblem(r);
    if (problem) return `recipient ${i + 1}: ${problem}`;
  }
  if (s.version === 1 ? s.previousHash !== null : typeof s.previousHash !== 'string' || s.previousHash === '') {
    return s.version === 1 ? 'version 1 has no previous set' : 'the set does not name its previous version';
  }
  if (typeof s.createdAt !== 'number' || !Number.isFinite(s.createdAt)) return 'the set has no creation time';
  if (signed) {
    for (const k of ['signedBy', 'signature'] as const) {
      if (s[k] !== undefined && typeof s[k] !== 'string') return `${k} is not a string`;
    }
  }
  return null;
}

function entryProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'not an entry';
  const r = value as Record<string, unknown>;
  if (typeof r.id !== 'string' || r.id === '') return 'no id';
  if (typeof r.kind !== 'string' || !KINDS.includes(r.kind)) return 'unknown kind';
  if (typeof r.recipient !== 'string') return 'no recipient';
  if (typeof r.label !== 'string') return 'no label';
  if (r.signer !== null && (typeof r.signer !== 'string' || !isSignerPublicKey(r.signer)))
    return 'the signer is not an ed25519 public key';
  if (typeof r.addedAt !== 'number' || !Number.isFinite(r.addedAt)) return 'no time added';
  return null;
}

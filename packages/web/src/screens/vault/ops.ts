import { entriesWithCiphertext, type EntryView, type UnlockMaterial } from '@fabric/protocol';
import {
  checkCanary,
  decodeSigner,
  decryptEntry,
  encodeSigner,
  encryptEntry,
  isPostQuantum,
  passkeyIdentity,
  recipientOf,
  rewrapAll,
  signRecipientSet,
  unwrapWithIdentity,
  unwrapWithPassphrase,
  verifyRecipientSet,
  wrapToRecipient,
  VaultError,
  type RecipientSet,
  type TrustedSetState,
  type VaultIdentity,
} from '@fabric/vault';
import { api, ApiError } from '../../api.js';
import { rotationFor, setRemoving, verifyFrom, type SetSource } from '../../model/vault-chain.js';
import { VaultUiError } from '../../model/vault-errors.js';
import { writeEnrolment, type StoredEnrolment } from '../../model/vault-storage.js';
import type { UnlockedKeys } from './keys.js';
import { createPasskey, fromBase64url, prfFromGet, random, toBase64url } from './passkey.js';

/**
 * The Vault screen's work against the server: every step that touches keys
 * runs here, in this page; what is sent is ciphertext, wrapped keys, public
 * recipients and signed sets. This module (with the vault library) is in the
 * lazily loaded vault chunk.
 */

export type { UnlockMaterial };

export const serverSets: SetSource = {
  current: async () => (await api.getVaultSet()).set,
  after: async (v) => (await api.listVaultSets({ query: { after: v } })).sets,
};

export const storage = () => localStorage;

/** Persist a newer trusted state (after a verification or a set this browser published). */
export function remember(
  stored: StoredEnrolment,
  trusted: TrustedSetState,
  patch: Partial<StoredEnrolment> = {},
): StoredEnrolment {
  const next = { ...stored, ...patch, trusted };
  writeEnrolment(storage(), next);
  return next;
}

/**
 * The current set verified from what this browser trusts; the newer state is
 * remembered. `current`: a set just fetched from the server, to verify
 * instead of fetching it again.
 */
export async function verifiedSet(
  stored: StoredEnrolment,
  current?: RecipientSet,
): Promise<{ set: RecipientSet; stored: StoredEnrolment; checked: number[] }> {
  const source = current ? { current: async () => current, after: serverSets.after } : serverSets;
  const v = await verifyFrom(stored.trusted, source);
  return { set: v.set, stored: v.checked.length > 0 ? remember(stored, v.trusted) : stored, checked: v.checked };
}

export function listEntries(): Promise<EntryView[]> {
  return api.listVaultEntries().then((r) => r.entries);
}

// ---------------------------------------------------------------- unlock

/** The unlock material fetched for the current locked spell: a retry (a wrong passphrase) does not fetch it again. */
let material: UnlockMaterial | null = null;

async function unlockMaterial(stored: StoredEnrolment): Promise<UnlockMaterial> {
  if (material?.id === stored.identityId) return material;
  try {
    const fetched = await api.getVaultIdentity({ params: { id: stored.identityId } });
    material = fetched;
    return fetched;
  } catch (err) {
    if (err instanceof ApiError && err.code === 'not_found') throw new VaultUiError('enrolment_missing');
    throw err;
  }
}

/** Forget the fetched material (after an unlock, or when the enrolment changes). */
export function forgetMaterial(): void {
  material = null;
}

/**
 * One passkey prompt: its PRF output over the stored salt derives the key
 * that opens the wrapped identity, and the canary must open before the
 * identity is trusted. Never writes anything: a refusal leaves the stored
 * material as it was. Throws `prf_missing` (no PRF output), `decrypt_failed`
 * (a different PRF output), `canary_mismatch`.
 */
export async function unlockWithPasskey(stored: StoredEnrolment): Promise<UnlockedKeys> {
  const m = await unlockMaterial(stored);
  if (!m.wrappedByPasskey || !m.prfSalt || !m.credentialId || !m.canary) throw new VaultUiError('passkey_not_enrolled');
  const salt = fromBase64url(m.prfSalt);
  const prf = await prfFromGet(fromBase64url(m.credentialId), salt);
  if (prf === null) throw new VaultUiError('prf_missing');
  let derived: VaultIdentity;
  try {
    derived = await passkeyIdentity(prf, salt, { postQuantum: isPostQuantum(stored.recipient) });
  } finally {
    prf.fill(0);
  }
  return opened(stored, m, await unwrapWithIdentity(m.wrappedByPasskey, derived.identity));
}

/** The passphrase opens its own blob; the canary is checked the same way. Throws `passphrase_wrong`. */
export async function unlockWithPassphrase(stored: StoredEnrolment, passphrase: string): Promise<UnlockedKeys> {
  const m = await unlockMaterial(stored);
  if (!m.wrappedByPassphrase || !m.canary) throw new VaultUiError('enrolment_missing');
  await nextFrame();
  return opened(stored, m, await unwrapWithPassphrase(m.wrappedByPassphrase, passphrase));
}

async function opened(stored: StoredEnrolment, m: UnlockMaterial, secret: string): Promise<UnlockedKeys> {
  let parsed: { identity?: unknown; signer?: unknown };
  try {
    parsed = JSON.parse(secret) as typeof parsed;
  } catch {
    throw new VaultError('canary_mismatch', "the unwrapped key is not this browser's");
  }
  if (typeof parsed.identity !== 'string' || typeof parsed.signer !== 'string')
    throw new VaultError('canary_mismatch', "the unwrapped key is not this browser's");
  await checkCanary(m.canary!, parsed.identity);
  // The canary proves the key opens what was made for it; the recipient ties it to the set.
  if ((await recipientOf(parsed.identity)) !== stored.recipient)
    throw new VaultError('canary_mismatch', "the unwrapped key is not this browser's");
  const keys = { identity: parsed.identity, signer: decodeSigner(parsed.signer), identityId: stored.identityId };
  void api.reportVaultAccess({ body: { action: 'vault.unlock' } }).catch(() => {});
  return keys;
}

/**
 * Re-enrol the passkey (after "this passkey now gives a different key"):
 * a new credential and salt wrap the unlocked keys again; the passphrase
 * blob and canary are sent back unchanged. Only done on the user's request,
 * while unlocked.
 */
export async function enrolPasskey(
  stored: StoredEnrolment,
  keys: UnlockedKeys,
  userName: string,
): Promise<StoredEnrolment> {
  const m = await unlockMaterial(stored);
  const salt = random(32);
  const created = await createPasskey({ userId: stored.identityId, userName, displayName: stored.label, salt });
  if (created.prf === null) throw new VaultUiError('prf_unsupported');
  let derived: VaultIdentity;
  try {
    derived = await passkeyIdentity(created.prf, salt, { postQuantum: isPostQuantum(stored.recipient) });
  } finally {
    created.prf.fill(0);
  }
  const wrappedByPasskey = await wrapToRecipient(secretOf({ identity: keys.identity }, keys.signer), derived.recipient);
  const next: UnlockMaterial = {
    ...m,
    wrappedByPasskey,
    prfSalt: toBase64url(salt),
    credentialId: toBase64url(created.credentialId),
  };
  await api.enrolVaultIdentity({
    body: {
      id: stored.identityId,
      kind: 'browser',
      label: stored.label,
      wrappedByPassphrase: next.wrappedByPassphrase,
      wrappedByPasskey,
      canary: next.canary,
      prfSalt: next.prfSalt,
      credentialId: next.credentialId,
    },
  });
  material = next;
  return remember(stored, stored.trusted, { passkey: true });
}

// ---------------------------------------------------------------- entries

/** Fetch, decrypt here, and report the read (the server never sees one happen). */
export async function reveal(name: string, keys: UnlockedKeys): Promise<string> {
  const entry = await api.getVaultEntry({ params: { name } });
  const bytes = await decryptEntry(entry.ciphertext, [keys.identity]);
  try {
    return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  } finally {
    bytes.fill(0);
    void api.reportVaultAccess({ body: { action: 'entry.read', entry: name } }).catch(() => {});
  }
}

/**
 * Encrypt `value` to the verified set's recipients and store it against that
 * set's version and the entry version this page last saw (0: a new entry);
 * the server answers 409 when either moved.
 */
export async function saveEntry(
  stored: StoredEnrolment,
  name: string,
  value: string,
  baseVersion: number,
): Promise<{ entry: EntryView; stored: StoredEnrolment; recipients: number }> {
  const v = await verifiedSet(stored);
  const ciphertext = await encryptEntry(
    value,
    v.set.recipients.map((r) => r.recipient),
  );
  const entry = await api.putVaultEntry({
    params: { name },
    body: { ciphertext, setVersion: v.set.version, baseVersion, clientId: stored.identityId },
  });
  return { entry, stored: v.stored, recipients: v.set.recipients.length };
}

// ---------------------------------------------------------------- recipients

/**
 * Revoke a recipient: this browser signs the next set without it, publishes
 * it, and re-encrypts every entry to the new set, flagging all of them for
 * rotation (the revoked party could read each one). Returns the flagged names.
 */
export async function revoke(
  stored: StoredEnrolment,
  keys: UnlockedKeys,
  id: string,
  onProgress: (step: string, done: number, total: number) => void,
): Promise<{ names: string[]; stored: StoredEnrolment }> {
  onProgress('verifying the set', 0, 0);
  const v = await verifiedSet(stored);
  onProgress('signing the next set', 0, 0);
  const next = signRecipientSet(setRemoving(v.set, id, Date.now()), keys.signer);
  const trusted = verifyRecipientSet(next, v.stored.trusted);
  await api.putVaultSet({ body: { set: next } });
  const after = remember(v.stored, trusted);
  const names = await rewrapEverything(
    next,
    [keys.identity],
    (all) => all,
    (done, total) => onProgress('re-encrypting', done, total),
  );
  return { names, stored: after };
}

/**
 * Finish a rewrap that did not complete (entries still on an older set),
 * with this browser's key and any `extra` identities (the recovery key of an
 * interrupted enrolment). Entries a since-removed recipient could read are
 * flagged for rotation, as the interrupted revocation would have.
 */
export async function rewrapStale(
  stored: StoredEnrolment,
  keys: UnlockedKeys,
  extra: string[],
  onProgress: (done: number, total: number) => void,
): Promise<StoredEnrolment> {
  const v = await verifiedSet(stored);
  const entries = await listEntries();
  const stale = entries.filter((e) => e.setVersion < v.set.version);
  const oldest = Math.min(...stale.map((e) => e.setVersion));
  const history = stale.length > 0 ? await serverSets.after(oldest - 1) : [];
  const rotate = new Set(rotationFor(stale, history, v.set));
  await rewrapEverything(v.set, [keys.identity, ...extra], (names) => names.filter((n) => rotate.has(n)), onProgress);
  return v.stored;
}

/**
 * Every entry, decrypted with `identities` and re-encrypted to `set`, in one
 * all-or-nothing request. An entry written in between makes the server answer
 * 409; that is retried once with fresh ciphertext. Returns the entry names.
 */
export async function rewrapEverything(
  set: RecipientSet,
  identities: string[],
  rotate: (names: string[]) => string[],
  onProgress: (done: number, total: number) => void,
): Promise<string[]> {
  const targets = set.recipients.map((r) => r.recipient);
  for (let attempt = 0; ; attempt++) {
    const entries = entriesWithCiphertext((await api.listVaultEntries({ query: { ciphertext: '1' } })).entries);
    onProgress(0, entries.length);
    const rewrapped = await rewrapAll(entries, identities, targets, onProgress);
    const names = entries.map((e) => e.name);
    try {
      await api.rewrapVault({
        body: {
          setVersion: set.version,
          entries: rewrapped.map((e) => ({ name: e.name, ciphertext: e.ciphertext, baseVersion: e.version })),
          rotate: rotate(names),
        },
      });
      return names;
    } catch (err) {
      if (attempt > 0 || !(err instanceof ApiError && err.code === 'conflict')) throw err;
    }
  }
}

// ---------------------------------------------------------------- helpers

/** What is wrapped: the browser's identity and encoded signer, as JSON. */
export function secretOf(identity: { identity: string }, signer: { publicKey: string; secretKey: Uint8Array }): string {
  return JSON.stringify({ identity: identity.identity, signer: encodeSigner(signer) });
}

/** Let the page paint a step before a blocking one (scrypt). */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 30));
}

import {
  generateIdentity,
  generateSigner,
  makeCanary,
  passkeyIdentity,
  recoveryIdentity,
  recoverySigner,
  signRecipientSet,
  validatePhrase,
  verifyRecipientSet,
  wrapToRecipient,
  wrapWithPassphrase,
  type RecipientEntry,
  type RecipientSet,
  type TrustedSetState,
} from '@fabric/vault';
import { api } from '../../api.js';
import { recoveryEntry, setAdding, verifyFrom, verifyFromStart, type VerifiedSet } from '../../model/vault-chain.js';
import { VaultUiError } from '../../model/vault-errors.js';
import { writeEnrolment, type StoredEnrolment } from '../../model/vault-storage.js';
import type { EnrolStep } from '../../model/vault.js';
import type { UnlockedKeys } from './keys.js';
import { nextFrame, rewrapEverything, secretOf, serverSets, storage } from './ops.js';
import { createPasskey, random, toBase64url, type Bytes } from './passkey.js';

/**
 * Enrolment, which is also recovery on a new browser: the recovery phrase
 * proves itself against the verified set, signs the next set adding this
 * browser, and its key re-encrypts every entry. Runs in this page; the
 * server gets wrapped keys, the signed set and ciphertext.
 */

export interface PhraseCheck {
  set: RecipientSet;
  trusted: TrustedSetState;
  /** The versions verified (from 1 on first contact). */
  checked: number[];
  /** True when the chain was verified from version 1 with nothing trusted before (trust on first use). */
  firstContact: boolean;
}

/**
 * Prove the phrase against the server's set: it must be a valid phrase
 * (position of a misspelled word, checksum) and derive the key of the set's
 * recovery entry, which must be able to sign. The chain is verified from
 * what this browser trusted in the same vault, or from version 1.
 */
export async function checkPhrase(phrase: string, stored: StoredEnrolment | null): Promise<PhraseCheck> {
  validatePhrase(phrase);
  let v: VerifiedSet;
  let firstContact = true;
  const current = stored ? await serverSets.current() : null;
  if (stored && current?.vaultId === stored.vaultId) {
    v = await verifyFrom(stored.trusted, { current: async () => current, after: serverSets.after });
    firstContact = false;
  } else {
    v = await verifyFromStart(serverSets);
  }
  const recovery = await recoveryIdentity(phrase, { postQuantum: v.set.postQuantum });
  const entry = recoveryEntry(v.set, recovery.recipient);
  const signer = recoverySigner(phrase);
  try {
    if (entry?.signer !== signer.publicKey) throw new VaultUiError('phrase_not_this_vault');
  } finally {
    signer.secretKey.fill(0);
  }
  return { set: v.set, trusted: v.trusted, checked: v.checked, firstContact };
}

export interface EnrolInput {
  phrase: string;
  passphrase: string;
  label: string;
  withPasskey: boolean;
  userName: string;
  check: PhraseCheck;
  /** Recovery of an enrolled browser: its recipient entry and unlock material are replaced, not duplicated. */
  replaceId?: string;
  onProgress: (step: EnrolStep, done?: number, total?: number) => void;
}

/**
 * The browser was enrolled (the set names it, its keys are stored) but
 * re-encrypting the entries failed: the caller keeps the keys, and the
 * recovery identity in memory to finish the rewrap (see {@link rewrapStale}).
 */
export class PartialEnrolment extends Error {
  constructor(
    readonly stored: StoredEnrolment,
    readonly keys: UnlockedKeys,
    readonly recoveryIdentity: string,
    override readonly cause: unknown,
  ) {
    super('enrolled, but the entries were not re-encrypted');
    this.name = 'PartialEnrolment';
  }
}

/**
 * Enrol this browser, signed by the recovery phrase: a new identity and
 * signer, wrapped by the passphrase and by the passkey, their canary; the
 * wrapped material goes to the server first (so a browser in the set always
 * has unlock material), then the next set adding this browser, then every
 * entry re-encrypted with the recovery key. Returns the keys, unlocked.
 */
export async function enrol(i: EnrolInput): Promise<{ stored: StoredEnrolment; keys: UnlockedKeys }> {
  // The set may have moved on since the phrase was checked.
  const v = await verifyFrom(i.check.trusted, serverSets);
  const postQuantum = v.set.postQuantum;
  const recovery = await recoveryIdentity(i.phrase, { postQuantum });
  if (!recoveryEntry(v.set, recovery.recipient)) throw new VaultUiError('phrase_not_this_vault');
  const recoveryKey = recoverySigner(i.phrase);
  const identity = await generateIdentity({ postQuantum });
  const signer = generateSigner();
  const id = i.replaceId ?? newBrowserId();
  try {
    let passkey: { recipient: string; salt: Bytes; credentialId: Bytes } | null = null;
    if (i.withPasskey) {
      i.onProgress('passkey');
      const salt = random(32);
      const created = await createPasskey({ userId: id, userName: i.userName, displayName: i.label, salt });
      if (created.prf === null) throw new VaultUiError('prf_unsupported');
      const derived = await passkeyIdentity(created.prf, salt, { postQuantum });
      created.prf.fill(0);
      passkey = { recipient: derived.recipient, salt, credentialId: created.credentialId };
    }

    i.onProgress('wrap');
    await nextFrame(); // scrypt blocks the page for a moment: let the step show first
    const secret = secretOf(identity, signer);
    const material = {
      id,
      kind: 'browser' as const,
      label: i.label,
      wrappedByPassphrase: await wrapWithPassphrase(secret, i.passphrase),
      wrappedByPasskey: passkey ? await wrapToRecipient(secret, passkey.recipient) : null,
      canary: await makeCanary(identity.recipient),
      prfSalt: passkey ? toBase64url(passkey.salt) : null,
      credentialId: passkey ? toBase64url(passkey.credentialId) : null,
    };

    i.onProgress('upload');
    await api.enrolVaultIdentity({ body: material });

    i.onProgress('sign');
    const now = Date.now();
    const entry: RecipientEntry = {
      id,
      kind: 'browser',
      recipient: identity.recipient,
      label: i.label,
      signer: signer.publicKey,
      addedAt: now,
    };
    const next = signRecipientSet(setAdding(v.set, entry, now), recoveryKey);
    const trusted = verifyRecipientSet(next, v.trusted);
    await api.putVaultSet({ body: { set: next } });
    const stored: StoredEnrolment = {
      v: 1,
      vaultId: next.vaultId,
      identityId: id,
      recipient: identity.recipient,
      label: i.label,
      trusted,
      passkey: passkey !== null,
      enrolledAt: now,
    };
    writeEnrolment(storage(), stored);

    const keys: UnlockedKeys = { identity: identity.identity, signer, identityId: id };
    i.onProgress('rewrap', 0, 0);
    void api.reportVaultAccess({ body: { action: 'vault.recover' } }).catch(() => {});
    try {
      await rewrapEverything(
        next,
        [recovery.identity],
        () => [],
        (done, total) => i.onProgress('rewrap', done, total),
      );
    } catch (err) {
      throw new PartialEnrolment(stored, keys, recovery.identity, err);
    }
    return { stored, keys };
  } catch (err) {
    if (!(err instanceof PartialEnrolment)) signer.secretKey.fill(0);
    throw err;
  } finally {
    recoveryKey.secretKey.fill(0);
  }
}

/** A recipient id for this browser, in the protocol's id format (prefix, 16 URL-safe characters). */
function newBrowserId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return `brw_${[...random(16)].map((b) => alphabet[b & 63]).join('')}`;
}

/**
 * The recipient set as this browser sees it: verified link by link before
 * anything is encrypted to it or shown as trustworthy, and the next set built
 * from it. The set travels through the server, which can neither forge nor
 * silently extend it: a set is accepted only when signed by a signer of the
 * version before (see @fabric/vault's `verifyRecipientSet`).
 *
 * This module imports the vault library, so only code loaded lazily (the
 * Vault screen's own chunk) may import it.
 */
import {
  VaultError,
  fingerprint,
  nextUnsignedSet,
  verifyRecipientSet,
  type RecipientEntry,
  type RecipientSet,
  type TrustedSetState,
  type UnsignedRecipientSet,
} from '@fabric/vault';

/** Where sets come from: the server's `GET /api/vault/set` and `GET /api/vault/sets?after=`. */
export interface SetSource {
  current: () => Promise<RecipientSet>;
  /** Every version after `version`, oldest first. */
  after: (version: number) => Promise<RecipientSet[]>;
}

export interface VerifiedSet {
  set: RecipientSet;
  /** What to remember (localStorage) for the next check. */
  trusted: TrustedSetState;
  /** Versions checked by this call, oldest first ([] when nothing changed). */
  checked: number[];
}

/**
 * First contact (enrolment, recovery on a new browser): the whole chain from
 * version 1, each link verified against the one before. Version 1 itself is
 * trusted on first use, which is why the screen shows fingerprints to compare
 * out of band. Throws `vault_not_initialized` (an object with that code) when
 * the server has no set, and the library's `VaultError` when a link fails.
 */
export async function verifyFromStart(source: SetSource): Promise<VerifiedSet> {
  const sets = [...(await source.after(0))].sort((a, b) => a.version - b.version);
  if (sets.length === 0)
    throw Object.assign(new Error('the vault is not set up yet'), { code: 'vault_not_initialized' });
  if (sets[0]!.version !== 1)
    throw new VaultError('set_invalid', `the server's history starts at version ${sets[0]!.version}, not 1`);
  let trusted: TrustedSetState | null = null;
  for (const s of sets) trusted = verifyRecipientSet(s, trusted);
  return { set: sets[sets.length - 1]!, trusted: trusted!, checked: sets.map((s) => s.version) };
}

/**
 * Later visits: the current set, verified from the state this browser
 * trusted, fetching the versions in between only when some were missed.
 * Throws `set_rollback`, `set_tampered`, `set_signer_untrusted`, … as the
 * library does.
 */
export async function verifyFrom(trusted: TrustedSetState, source: SetSource): Promise<VerifiedSet> {
  const set = await source.current();
  const chain =
    set.version > trusted.version + 1
      ? (await source.after(trusted.version)).filter((s) => s.version < set.version)
      : [];
  const next = verifyRecipientSet(set, trusted, chain);
  const checked =
    set.version > trusted.version ? [...chain.map((s) => s.version).sort((a, b) => a - b), set.version] : [];
  return { set, trusted: next, checked };
}

/** The verified successor of `set` with `entry` added (replacing an entry with the same id). */
export function setAdding(set: RecipientSet, entry: RecipientEntry, now: number): UnsignedRecipientSet {
  return nextUnsignedSet(set, [...set.recipients.filter((r) => r.id !== entry.id), entry], now);
}

/** The successor of `set` without the recipient `id`; throws when it is not there. */
export function setRemoving(set: RecipientSet, id: string, now: number): UnsignedRecipientSet {
  if (!set.recipients.some((r) => r.id === id))
    throw new VaultError('set_invalid', `no recipient ${id} in version ${set.version}`);
  return nextUnsignedSet(
    set,
    set.recipients.filter((r) => r.id !== id),
    now,
  );
}

/** The set's recovery entry whose key is `recipient`, or null: a phrase proves itself by deriving a key the set names. */
export function recoveryEntry(set: RecipientSet, recipient: string): RecipientEntry | null {
  return set.recipients.find((r) => r.kind === 'recovery' && r.recipient === recipient) ?? null;
}

export interface RecipientRow {
  id: string;
  kind: RecipientEntry['kind'];
  label: string;
  fingerprint: string;
  canSign: boolean;
  isThisBrowser: boolean;
  /** Whether this browser may offer "revoke": owners only, never itself or the recovery phrase. */
  revocable: boolean;
  addedAt: number;
}

const KIND_ORDER: Record<RecipientEntry['kind'], number> = { browser: 0, cli: 1, device: 2, recovery: 3 };

/** The recipients table, this browser first, then by kind and label. */
export function recipientRows(set: RecipientSet, thisRecipient: string | null, owner: boolean): RecipientRow[] {
  return set.recipients
    .map((r) => {
      const mine = r.recipient === thisRecipient;
      return {
        id: r.id,
        kind: r.kind,
        label: r.label,
        fingerprint: fingerprint(r.recipient),
        canSign: r.signer !== null,
        isThisBrowser: mine,
        revocable: owner && !mine && r.kind !== 'recovery',
        addedAt: r.addedAt,
      };
    })
    .sort(
      (a, b) =>
        Number(b.isThisBrowser) - Number(a.isThisBrowser) ||
        KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
        a.label.localeCompare(b.label),
    );
}

/**
 * Of the entries still encrypted to an older set, those to flag "rotate"
 * once re-encrypted: the ones whose set named a recipient the current set no
 * longer has (it could read them). An entry whose set is not in `history` is
 * flagged, to be safe.
 */
export function rotationFor(
  stale: readonly { name: string; setVersion: number }[],
  history: readonly { version: number; recipients: readonly { recipient: string }[] }[],
  current: { version: number; recipients: readonly { recipient: string }[] },
): string[] {
  const now = new Set(current.recipients.map((r) => r.recipient));
  const byVersion = new Map(history.map((s) => [s.version, s]));
  return stale
    .filter((e) => e.setVersion < current.version)
    .filter((e) => {
      const readers = byVersion.get(e.setVersion);
      return !readers || readers.recipients.some((r) => !now.has(r.recipient));
    })
    .map((e) => e.name);
}

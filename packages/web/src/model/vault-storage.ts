import type { TrustedSetState } from '@fabric/vault';

/**
 * What this browser remembers about its vault enrolment, in localStorage.
 * Only ids and public state: the wrapped keys live on the server, the
 * unwrapped ones only in memory while unlocked. `writeEnrolment` refuses
 * anything that looks like a secret key, as a tripwire.
 */
export interface StoredEnrolment {
  v: 1;
  vaultId: string;
  /** This browser's recipient id in the set, and its unlock material's id on the server. */
  identityId: string;
  /** The browser's public age recipient (age1…). */
  recipient: string;
  label: string;
  /** The last recipient set this browser verified. */
  trusted: TrustedSetState;
  /** Whether a passkey unlocks this browser (false: passphrase only). */
  passkey: boolean;
  enrolledAt: number;
}

/** The part of `Storage` used here, so tests pass a Map-backed fake. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const STORAGE_KEY = 'fabric.vault.v1';
const SECRET_MARKERS = ['AGE-SECRET-KEY', 'FABRIC-SIGNER-SECRET-KEY'];

/** The stored enrolment, or null when there is none or it is not one (a damaged record is treated as absent, not trusted). */
export function readEnrolment(store: KeyValueStore): StoredEnrolment | null {
  let raw: string | null;
  try {
    raw = store.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled (private mode): the browser is simply not enrolled here
  }
  if (raw === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  return isEnrolment(value) ? value : null;
}

/** Store the enrolment. Throws (a bug) when a value looks like a secret key. */
export function writeEnrolment(store: KeyValueStore, e: StoredEnrolment): void {
  const json = JSON.stringify(e);
  if (SECRET_MARKERS.some((m) => json.toUpperCase().includes(m)))
    throw new Error('refusing to store a secret key in localStorage');
  store.setItem(STORAGE_KEY, json);
}

export function forgetEnrolment(store: KeyValueStore): void {
  store.removeItem(STORAGE_KEY);
}

function isEnrolment(v: unknown): v is StoredEnrolment {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  const t = e.trusted as Record<string, unknown> | null | undefined;
  return (
    e.v === 1 &&
    typeof e.vaultId === 'string' &&
    e.vaultId !== '' &&
    typeof e.identityId === 'string' &&
    e.identityId !== '' &&
    typeof e.recipient === 'string' &&
    e.recipient.startsWith('age1') &&
    typeof e.label === 'string' &&
    typeof e.passkey === 'boolean' &&
    typeof e.enrolledAt === 'number' &&
    typeof t === 'object' &&
    t !== null &&
    t.vaultId === e.vaultId &&
    Number.isSafeInteger(t.version) &&
    (t.version as number) >= 1 &&
    typeof t.hash === 'string' &&
    Array.isArray(t.signers) &&
    t.signers.every((s) => typeof s === 'string')
  );
}

import type { Problem } from './vault-errors.js';

/**
 * The Vault screen's state machine, free of I/O: the screen feeds it events
 * (what the server said, what the user did, what a crypto step reported)
 * and renders the state it returns. Which keys are unlocked is not here:
 * they live in memory beside the screen, and this only knows *whether*.
 */

/** Why the vault is locked: shown as a line on the unlock panel. */
export type LockReason = 'fresh' | 'user' | 'idle' | 'hidden';
export type UnlockMethod = 'passkey' | 'passphrase';
/** This browser's standing in the server's vault. */
export type Enrolment = 'none' | 'enrolled' | 'revoked' | 'other-vault';
/** Why the enrolment flow is shown. */
export type EnrolReason = 'new' | 'revoked' | 'other-vault' | 'recover';

export type EnrolStep = 'passkey' | 'wrap' | 'upload' | 'sign' | 'rewrap';
export interface Progress {
  step: EnrolStep;
  /** Entries re-encrypted so far (rewrap step), of `total`. */
  done: number;
  total: number;
  /** False when enrolling with the passphrase only (the passkey step is skipped). */
  withPasskey: boolean;
}

/** A long operation while unlocked. */
export interface Task {
  kind: 'revoke' | 'repasskey' | 'rewrap' | 'save';
  /** The entry or recipient it is about. */
  subject: string;
  /** What it is doing now, in a few words. */
  step: string;
  done: number;
  total: number;
}

export type Screen =
  | { kind: 'loading' }
  | { kind: 'uninitialized' }
  | { kind: 'failed'; problem: Problem }
  | {
      kind: 'enrol';
      step: 'phrase' | 'setup' | 'working';
      why: EnrolReason;
      progress: Progress | null;
      problem: Problem | null;
    }
  | { kind: 'locked'; busy: UnlockMethod | null; problem: Problem | null; reason: LockReason }
  | { kind: 'unlocked'; task: Task | null; problem: Problem | null; notice: string | null };

export interface VaultModel {
  screen: Screen;
  /**
   * Set when a passkey unlock was refused for a reason retrying cannot fix
   * (no PRF output, a changed key, a failed canary): the passkey is not
   * offered again on this page until it is re-enrolled, and this problem
   * (why) stays on screen. Nothing is overwritten. Null: not refused.
   */
  passkeyRefused: Problem | null;
  /** Whether this browser enrolled a passkey at all. */
  hasPasskey: boolean;
}

export type VaultEvent =
  | { type: 'load' }
  | { type: 'uninitialized' }
  | { type: 'load_failed'; problem: Problem }
  | { type: 'loaded'; enrolment: Enrolment; hasPasskey: boolean; unlocked: boolean }
  | { type: 'recover' }
  | { type: 'phrase_ok' }
  | { type: 'enrol_back' }
  | { type: 'enrol_progress'; progress: Progress }
  | { type: 'enrol_problem'; problem: Problem }
  | { type: 'enrolled'; hasPasskey: boolean }
  | { type: 'unlock'; method: UnlockMethod }
  | { type: 'unlock_failed'; method: UnlockMethod; problem: Problem }
  | { type: 'unlocked' }
  | { type: 'lock'; reason: Exclude<LockReason, 'fresh'> }
  | { type: 'task'; task: Task }
  | { type: 'task_failed'; problem: Problem }
  | { type: 'task_done'; notice: string | null; passkeyEnrolled?: boolean }
  | { type: 'dismiss' };

export const initialModel: VaultModel = { screen: { kind: 'loading' }, passkeyRefused: null, hasPasskey: false };

/** Problems that send the enrolment back to the phrase (the phrase or the chain it was checked against), not to the passphrase form. */
const PHRASE_CODES = new Set([
  'phrase_invalid',
  'phrase_checksum',
  'phrase_not_this_vault',
  'set_unsigned',
  'set_tampered',
  'set_signer_untrusted',
  'set_rollback',
  'set_invalid',
  'set_mixed_kinds',
]);

/** The next model. Events that make no sense in the current state leave it unchanged (a late reply after the user moved on). */
export function reduce(m: VaultModel, e: VaultEvent): VaultModel {
  const s = m.screen;
  const to = (screen: Screen, patch: Partial<VaultModel> = {}): VaultModel => ({ ...m, ...patch, screen });
  switch (e.type) {
    case 'load':
      return to({ kind: 'loading' });
    case 'uninitialized':
      return to({ kind: 'uninitialized' });
    case 'load_failed':
      return to({ kind: 'failed', problem: e.problem });
    case 'loaded': {
      const patch = { hasPasskey: e.hasPasskey };
      if (e.enrolment !== 'enrolled') {
        const why: EnrolReason = e.enrolment === 'none' ? 'new' : e.enrolment;
        return to(
          { kind: 'enrol', step: 'phrase', why, progress: null, problem: null },
          { ...patch, passkeyRefused: null },
        );
      }
      if (e.unlocked) return to({ kind: 'unlocked', task: null, problem: null, notice: null }, patch);
      const reason = s.kind === 'locked' ? s.reason : 'fresh';
      return to({ kind: 'locked', busy: null, problem: s.kind === 'locked' ? s.problem : null, reason }, patch);
    }
    case 'recover':
      if (s.kind !== 'locked' && s.kind !== 'failed') return m;
      return to({ kind: 'enrol', step: 'phrase', why: 'recover', progress: null, problem: null });
    case 'phrase_ok':
      if (s.kind !== 'enrol' || s.step !== 'phrase') return m;
      return to({ ...s, step: 'setup', problem: null });
    case 'enrol_back':
      if (s.kind !== 'enrol' || s.step !== 'setup') return m;
      return to({ ...s, step: 'phrase', problem: null });
    case 'enrol_progress':
      if (s.kind !== 'enrol' || s.step === 'phrase') return m;
      return to({ ...s, step: 'working', progress: e.progress, problem: null });
    case 'enrol_problem': {
      if (s.kind !== 'enrol') return m;
      const step = PHRASE_CODES.has(e.problem.code) ? 'phrase' : s.step === 'phrase' ? 'phrase' : 'setup';
      return to({ ...s, step, progress: null, problem: e.problem });
    }
    case 'enrolled':
      if (s.kind !== 'enrol') return m;
      return to(
        {
          kind: 'unlocked',
          task: null,
          problem: null,
          notice: 'This browser is enrolled and unlocked. It locks itself after 15 minutes idle.',
        },
        { passkeyRefused: null, hasPasskey: e.hasPasskey },
      );
    case 'unlock':
      if (s.kind !== 'locked' || s.busy !== null) return m;
      if (e.method === 'passkey' && (m.passkeyRefused !== null || !m.hasPasskey)) return m;
      return to({ ...s, busy: e.method, problem: null });
    case 'unlock_failed':
      if (s.kind !== 'locked') return m;
      return to(
        { ...s, busy: null, problem: e.problem },
        e.problem.passkeyRefused ? { passkeyRefused: e.problem } : {},
      );
    case 'unlocked':
      if (s.kind !== 'locked') return m;
      return to({ kind: 'unlocked', task: null, problem: null, notice: null });
    case 'lock':
      if (s.kind !== 'unlocked') return m;
      return to({ kind: 'locked', busy: null, problem: null, reason: e.reason });
    case 'task':
      if (s.kind !== 'unlocked') return m;
      return to({ ...s, task: e.task, problem: null, notice: null });
    case 'task_failed':
      if (s.kind !== 'unlocked') return m;
      return to({ ...s, task: null, problem: e.problem });
    case 'task_done':
      if (s.kind !== 'unlocked') return m;
      return to(
        { ...s, task: null, notice: e.notice },
        e.passkeyEnrolled ? { passkeyRefused: null, hasPasskey: true } : {},
      );
    case 'dismiss':
      if (s.kind === 'unlocked') return to({ ...s, problem: null, notice: null });
      if (s.kind === 'locked' || s.kind === 'enrol') return to({ ...s, problem: null });
      return m;
  }
}

/** Whether the passkey button is offered on the unlock panel. */
export function passkeyOffered(m: VaultModel): boolean {
  return m.hasPasskey && m.passkeyRefused === null;
}

/**
 * This browser's standing, from what it stored and the (verified) current
 * set: another vault id means the server was reset or swapped; a missing
 * recipient means another client revoked this browser.
 */
export function enrolmentOf(
  stored: { vaultId: string; identityId: string; recipient: string } | null,
  set: { vaultId: string; recipients: readonly { id: string; recipient: string }[] },
): Enrolment {
  if (stored === null) return 'none';
  if (stored.vaultId !== set.vaultId) return 'other-vault';
  return set.recipients.some((r) => r.id === stored.identityId && r.recipient === stored.recipient)
    ? 'enrolled'
    : 'revoked';
}

export const ENROL_STEPS: readonly { step: EnrolStep; label: string }[] = [
  { step: 'passkey', label: 'create the passkey' },
  { step: 'wrap', label: "wrap this browser's keys" },
  { step: 'upload', label: 'store the wrapped keys' },
  { step: 'sign', label: 'sign the next recipient set' },
  { step: 'rewrap', label: 're-encrypt every entry' },
];

export interface ChecklistRow {
  label: string;
  state: 'done' | 'active' | 'todo' | 'skipped';
  /** "3/12" on the rewrap step. */
  detail: string | null;
}

/** The enrolment's progress as a checklist; the passkey step is skipped when enrolling with the passphrase only. */
export function checklist(progress: Progress | null): ChecklistRow[] {
  const withPasskey = progress?.withPasskey ?? true;
  const at = progress ? ENROL_STEPS.findIndex((s) => s.step === progress.step) : -1;
  return ENROL_STEPS.map((s, i) => {
    const skipped = s.step === 'passkey' && !withPasskey;
    const state = skipped ? 'skipped' : i < at ? 'done' : i === at ? 'active' : 'todo';
    const detail =
      s.step === 'rewrap' && progress && i <= at && progress.total > 0 ? `${progress.done}/${progress.total}` : null;
    return { label: s.label, state, detail };
  });
}

/** A fraction 0..1 for a progress bar; 1 for an empty batch. */
export function fraction(done: number, total: number): number {
  return total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
}

/** Idle time before the unlocked keys are dropped. */
export const IDLE_LOCK_MS = 15 * 60_000;

/** Milliseconds left before an idle lock (0: lock now). */
export function idleLeft(lastActivity: number, now: number, ttl = IDLE_LOCK_MS): number {
  return Math.min(ttl, Math.max(0, lastActivity + ttl - now));
}

/** "14:05" for a countdown. */
export function countdown(ms: number): string {
  const total = Math.ceil(Math.max(0, ms) / 1000);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

/** Words typed so far (normalised as the library does: any whitespace separates). */
export function phraseWordCount(input: string): number {
  const t = input.trim();
  return t === '' ? 0 : t.split(/\s+/u).length;
}

/** "just now", "5m ago", "3h ago", "2d ago". */
export function ago(ts: number, now: number): string {
  const s = Math.max(0, Math.round((now - ts) / 1000));
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.round(h / 24)}d ago`;
}

export interface EntryLike {
  name: string;
  version: number;
  setVersion: number;
  updatedAt: number;
  needsRotation: boolean;
}

export interface EntryRow extends EntryLike {
  /** Encrypted to an older recipient set than the current one (a rewrap did not finish). */
  stale: boolean;
}

/** Entries sorted by name with their flags. */
export function entryRows(entries: readonly EntryLike[], setVersion: number): EntryRow[] {
  return [...entries]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => ({ ...e, stale: e.setVersion < setVersion }));
}

/** A recipient label for this browser from its user agent: "Chrome on Linux", "Safari on iPhone". */
export function defaultBrowserLabel(ua: string): string {
  const browser = ua.includes('Edg/')
    ? 'Edge'
    : /Firefox\/|FxiOS\//.test(ua)
      ? 'Firefox'
      : /Chrome\/|CriOS\/|Chromium\//.test(ua)
        ? 'Chrome'
        : ua.includes('Safari/')
          ? 'Safari'
          : 'Browser';
  const os = ua.includes('iPhone')
    ? 'iPhone'
    : ua.includes('iPad')
      ? 'iPad'
      : ua.includes('Android')
        ? 'Android'
        : /Mac OS X|Macintosh/.test(ua)
          ? 'Mac'
          : ua.includes('Windows')
            ? 'Windows'
            : ua.includes('CrOS')
              ? 'ChromeOS'
              : ua.includes('Linux')
                ? 'Linux'
                : null;
  return os ? `${browser} on ${os}` : browser;
}

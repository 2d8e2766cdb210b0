import { signal } from '@preact/signals';
import type { EntryView } from '@fabric/protocol';
import type { RecipientSet } from '@fabric/vault';
import { me } from '../../store.js';
import { vaultProblem, VaultUiError, type Problem, type ProblemContext } from '../../model/vault-errors.js';
import { forgetEnrolment, readEnrolment, type StoredEnrolment } from '../../model/vault-storage.js';
import {
  enrolmentOf,
  initialModel,
  reduce,
  type UnlockMethod,
  type VaultEvent,
  type VaultModel,
} from '../../model/vault.js';
import { drop, hold, onDrop, unlocked } from './keys.js';
import * as enrolFlow from './enrolment.js';
import * as ops from './ops.js';

/**
 * The Vault screen's shell: signals the components render, and the actions
 * they call. Each action runs the I/O (ops.ts), feeds the state machine
 * (model/vault.ts) and turns failures into problems (model/vault-errors.ts).
 * Module state, so it survives switching tabs; keys are in keys.ts.
 */

export const model = signal<VaultModel>(initialModel);
/** The current set, verified (null until it is). */
export const verified = signal<RecipientSet | null>(null);
export const entries = signal<EntryView[]>([]);
export const stored = signal<StoredEnrolment | null>(null);
/** The result of the phrase step, shown in the setup step (fingerprints to compare). */
export const phraseCheck = signal<enrolFlow.PhraseCheck | null>(null);
/** A decrypted value on screen: one at a time, dropped on lock and after a minute. */
export const revealed = signal<{ name: string; value: string } | null>(null);
/** After a revocation: the entries to rotate at their source. */
export const toRotate = signal<{ who: string; names: string[] } | null>(null);

export function dispatch(e: VaultEvent): void {
  model.value = reduce(model.value, e);
}

/**
 * The recovery identity of an enrolment whose rewrap was interrupted, kept
 * (in memory only) until "re-encrypt now" finishes it or the vault locks.
 */
let recoveryHelp: string[] = [];

let hideTimer: ReturnType<typeof setTimeout> | null = null;
function hide(): void {
  if (hideTimer) clearTimeout(hideTimer);
  hideTimer = null;
  revealed.value = null;
}

onDrop((reason) => {
  hide();
  recoveryHelp = [];
  ops.forgetMaterial();
  dispatch({ type: 'lock', reason });
});

const problem = (err: unknown, ctx: ProblemContext, subject?: string): Problem => {
  if (!(err instanceof Error) || !('code' in err)) console.warn('vault:', err); // a bug, not an expected failure
  return vaultProblem(err, ctx, subject);
};

/** (Re)load: the server's set, this browser's standing, and, when enrolled, the verified set and entries. */
export async function load(): Promise<void> {
  if (model.value.screen.kind !== 'unlocked') dispatch({ type: 'load' });
  try {
    const s = readEnrolment(localStorage);
    stored.value = s;
    let current: RecipientSet;
    try {
      current = await ops.serverSets.current();
    } catch (err) {
      if ((err as { code?: string }).code === 'vault_not_initialized') {
        dispatch({ type: 'uninitialized' });
        return;
      }
      throw err;
    }
    let enrolment = enrolmentOf(s, current);
    if (enrolment === 'enrolled' && s) {
      const v = await ops.verifiedSet(s, current);
      stored.value = v.stored;
      verified.value = v.set;
      enrolment = enrolmentOf(v.stored, v.set);
      if (enrolment === 'enrolled') entries.value = await ops.listEntries();
    } else {
      verified.value = null;
    }
    const keys = unlocked();
    if (keys && (enrolment !== 'enrolled' || keys.identityId !== s?.identityId)) drop('user');
    dispatch({
      type: 'loaded',
      enrolment,
      hasPasskey: s?.passkey ?? false,
      unlocked: enrolment === 'enrolled' && unlocked() !== null,
    });
  } catch (err) {
    dispatch({ type: 'load_failed', problem: problem(err, 'load') });
  }
}

/** Refresh the verified set and the entry list while unlocked. */
export async function refresh(): Promise<void> {
  const s = stored.value;
  if (!s) return;
  const v = await ops.verifiedSet(s);
  stored.value = v.stored;
  verified.value = v.set;
  if (enrolmentOf(v.stored, v.set) !== 'enrolled') {
    await load();
    return;
  }
  entries.value = await ops.listEntries();
}

// ---------------------------------------------------------------- enrolment

export async function submitPhrase(phrase: string): Promise<void> {
  try {
    phraseCheck.value = await enrolFlow.checkPhrase(phrase, stored.value);
    dispatch({ type: 'phrase_ok' });
  } catch (err) {
    dispatch({ type: 'enrol_problem', problem: problem(err, 'phrase') });
  }
}

export interface EnrolForm {
  phrase: string;
  passphrase: string;
  confirm: string;
  label: string;
  withPasskey: boolean;
}

export async function submitEnrol(f: EnrolForm): Promise<boolean> {
  const check = phraseCheck.value;
  if (!check) return false;
  try {
    if (f.passphrase.length < 8) throw new VaultUiError('passphrase_weak');
    if (f.passphrase !== f.confirm) throw new VaultUiError('passphrase_mismatch');
    const result = await enrolFlow.enrol({
      phrase: f.phrase,
      passphrase: f.passphrase,
      label: f.label.trim().slice(0, 128) || 'browser',
      withPasskey: f.withPasskey,
      userName: me.value?.name ?? 'fabric',
      check,
      ...(model.value.screen.kind === 'enrol' && model.value.screen.why === 'recover' && stored.value
        ? { replaceId: stored.value.identityId }
        : {}),
      onProgress: (step, done = 0, total = 0) =>
        dispatch({ type: 'enrol_progress', progress: { step, done, total, withPasskey: f.withPasskey } }),
    });
    ops.forgetMaterial();
    stored.value = result.stored;
    hold(result.keys);
    phraseCheck.value = null;
    dispatch({ type: 'enrolled', hasPasskey: result.stored.passkey });
    await refresh().catch((err: unknown) => dispatch({ type: 'task_failed', problem: problem(err, 'load') }));
    return true;
  } catch (err) {
    if (err instanceof enrolFlow.PartialEnrolment) {
      // Enrolled: the set names this browser. Only the re-encryption is left, and this page can finish it.
      ops.forgetMaterial();
      stored.value = err.stored;
      hold(err.keys);
      recoveryHelp = [err.recoveryIdentity];
      phraseCheck.value = null;
      dispatch({ type: 'enrolled', hasPasskey: err.stored.passkey });
      const cause = problem(err.cause, 'enrol');
      dispatch({
        type: 'task_failed',
        problem: {
          ...cause,
          text: `This browser is enrolled, but re-encrypting the entries stopped: ${cause.text} Press “re-encrypt now” to finish; until then this browser cannot read older entries.`,
        },
      });
      await refresh().catch(() => {});
      return true;
    }
    dispatch({ type: 'enrol_problem', problem: problem(err, 'enrol') });
    return false;
  }
}

/** Drop this browser's enrolment record (after a reset vault or a revocation) and start over. */
export async function forgetThisBrowser(): Promise<void> {
  drop('user');
  ops.forgetMaterial();
  forgetEnrolment(localStorage);
  stored.value = null;
  await load();
}

// ---------------------------------------------------------------- unlock

export async function unlock(method: UnlockMethod, passphrase = ''): Promise<void> {
  const s = stored.value;
  if (!s) return;
  dispatch({ type: 'unlock', method });
  if (model.value.screen.kind !== 'locked' || model.value.screen.busy !== method) return;
  try {
    const keys = method === 'passkey' ? await ops.unlockWithPasskey(s) : await ops.unlockWithPassphrase(s, passphrase);
    hold(keys);
    dispatch({ type: 'unlocked' });
    await refresh().catch((err: unknown) => dispatch({ type: 'task_failed', problem: problem(err, 'load') }));
  } catch (err) {
    dispatch({
      type: 'unlock_failed',
      method,
      problem: problem(err, method === 'passkey' ? 'unlock-passkey' : 'unlock-passphrase'),
    });
  }
}

export function lock(): void {
  drop('user');
}

// ---------------------------------------------------------------- entries

export async function revealEntry(name: string): Promise<void> {
  const keys = unlocked();
  if (!keys) return;
  dispatch({ type: 'dismiss' });
  try {
    const value = await ops.reveal(name, keys);
    hide();
    revealed.value = { name, value };
    hideTimer = setTimeout(hide, 60_000);
  } catch (err) {
    dispatch({ type: 'task_failed', problem: problem(err, 'reveal', name) });
    if ((err as { code?: string }).code === 'credential_not_found') void refresh().catch(() => {});
  }
}

export function hideEntry(): void {
  hide();
}

/**
 * Save an entry from the drawer. Returns null when saved, else the problem
 * for the drawer to show (a 409 also refreshes the list, so the next try
 * uses the current versions).
 */
export async function saveEntry(name: string, value: string): Promise<Problem | null> {
  const s = stored.value;
  if (!s || !unlocked()) return vaultProblem(new VaultUiError('enrolment_missing'), 'save', name);
  const base = entries.value.find((e) => e.name === name)?.version ?? 0;
  try {
    const saved = await ops.saveEntry(s, name, value, base);
    stored.value = saved.stored;
    await refresh().catch(() => {});
    dispatch({
      type: 'task_done',
      notice: `${name} saved (version ${saved.entry.version}, readable by ${saved.recipients} recipients).`,
    });
    return null;
  } catch (err) {
    const p = problem(err, 'save', name);
    if (p.code === 'conflict') await refresh().catch(() => {});
    return p;
  }
}

// ---------------------------------------------------------------- recipients and passkey

export async function revokeRecipient(id: string, label: string): Promise<void> {
  const s = stored.value;
  const keys = unlocked();
  if (!s || !keys) return;
  toRotate.value = null;
  dispatch({ type: 'task', task: { kind: 'revoke', subject: label, step: 'starting', done: 0, total: 0 } });
  try {
    const result = await ops.revoke(s, keys, id, (step, done, total) =>
      dispatch({ type: 'task', task: { kind: 'revoke', subject: label, step, done, total } }),
    );
    stored.value = result.stored;
    toRotate.value = { who: label, names: result.names };
    await refresh().catch(() => {});
    dispatch({
      type: 'task_done',
      notice: `${label} revoked: ${result.names.length} entr${result.names.length === 1 ? 'y' : 'ies'} re-encrypted without it.`,
    });
  } catch (err) {
    dispatch({ type: 'task_failed', problem: problem(err, 'revoke', label) });
    await refresh().catch(() => {});
  }
}

export async function reenrolPasskey(): Promise<void> {
  const s = stored.value;
  const keys = unlocked();
  if (!s || !keys) return;
  dispatch({
    type: 'task',
    task: { kind: 'repasskey', subject: s.label, step: 'waiting for the passkey', done: 0, total: 0 },
  });
  try {
    stored.value = await ops.enrolPasskey(s, keys, me.value?.name ?? 'fabric');
    dispatch({
      type: 'task_done',
      notice: 'Passkey enrolled: it unlocks this browser from now on.',
      passkeyEnrolled: true,
    });
  } catch (err) {
    dispatch({ type: 'task_failed', problem: problem(err, 'repasskey') });
  }
}

export async function finishRewrap(): Promise<void> {
  const s = stored.value;
  const keys = unlocked();
  if (!s || !keys) return;
  dispatch({ type: 'task', task: { kind: 'rewrap', subject: 'entries', step: 're-encrypting', done: 0, total: 0 } });
  try {
    stored.value = await ops.rewrapStale(s, keys, recoveryHelp, (done, total) =>
      dispatch({ type: 'task', task: { kind: 'rewrap', subject: 'entries', step: 're-encrypting', done, total } }),
    );
    recoveryHelp = [];
    await refresh().catch(() => {});
    dispatch({ type: 'task_done', notice: 'Every entry is encrypted to the current recipient set.' });
  } catch (err) {
    dispatch({ type: 'task_failed', problem: problem(err, 'revoke') });
  }
}

import { describe, expect, it } from 'vitest';
import { vaultProblem } from './vault-errors.js';
import {
  ago,
  checklist,
  countdown,
  defaultBrowserLabel,
  enrolmentOf,
  entryRows,
  fraction,
  idleLeft,
  IDLE_LOCK_MS,
  initialModel,
  passkeyOffered,
  phraseWordCount,
  reduce,
  type VaultEvent,
  type VaultModel,
} from './vault.js';

const run = (events: VaultEvent[], from: VaultModel = initialModel) => events.reduce(reduce, from);
const enrolled: VaultEvent = { type: 'loaded', enrolment: 'enrolled', hasPasskey: true, unlocked: false };
const passkeyChanged = vaultProblem({ code: 'prf_missing', message: 'prf_missing' }, 'unlock-passkey');

describe('the vault screen state machine', () => {
  it('starts loading, and shows the init advice when the server has no vault', () => {
    expect(initialModel.screen).toEqual({ kind: 'loading' });
    expect(run([{ type: 'uninitialized' }]).screen).toEqual({ kind: 'uninitialized' });
  });

  it('sends a browser that is not enrolled, revoked, or from another vault to the phrase step, saying why', () => {
    for (const [enrolment, why] of [
      ['none', 'new'],
      ['revoked', 'revoked'],
      ['other-vault', 'other-vault'],
    ] as const) {
      expect(run([{ type: 'loaded', enrolment, hasPasskey: false, unlocked: false }]).screen).toEqual({
        kind: 'enrol',
        step: 'phrase',
        why,
        progress: null,
        problem: null,
      });
    }
  });

  it('walks the enrolment: phrase, setup, progress, then unlocked with a notice', () => {
    const m = run([
      { type: 'loaded', enrolment: 'none', hasPasskey: false, unlocked: false },
      { type: 'phrase_ok' },
      { type: 'enrol_progress', progress: { step: 'passkey', done: 0, total: 0, withPasskey: true } },
      { type: 'enrol_progress', progress: { step: 'rewrap', done: 2, total: 5, withPasskey: true } },
    ]);
    expect(m.screen).toMatchObject({ kind: 'enrol', step: 'working', progress: { step: 'rewrap', done: 2, total: 5 } });
    const done = reduce(m, { type: 'enrolled', hasPasskey: true });
    expect(done.screen).toMatchObject({ kind: 'unlocked', task: null });
    expect(done.hasPasskey).toBe(true);
    expect(passkeyOffered(done)).toBe(true);
  });

  it('sends phrase and chain problems back to the phrase, others back to the passphrase form', () => {
    const setup = run([
      { type: 'loaded', enrolment: 'none', hasPasskey: false, unlocked: false },
      { type: 'phrase_ok' },
    ]);
    const working = reduce(setup, {
      type: 'enrol_progress',
      progress: { step: 'sign', done: 0, total: 0, withPasskey: false },
    });
    const conflict = vaultProblem({ code: 'conflict', message: 'stale' }, 'enrol');
    expect(reduce(working, { type: 'enrol_problem', problem: conflict }).screen).toMatchObject({
      step: 'setup',
      problem: conflict,
      progress: null,
    });
    const forged = vaultProblem({ code: 'set_signer_untrusted', message: 'not trusted' }, 'enrol');
    expect(reduce(working, { type: 'enrol_problem', problem: forged }).screen).toMatchObject({
      step: 'phrase',
      problem: forged,
    });
    const typo = vaultProblem(
      { code: 'phrase_invalid', message: 'word 3 is not a recovery word; check its spelling' },
      'phrase',
    );
    expect(reduce(setup, { type: 'enrol_problem', problem: typo }).screen).toMatchObject({ step: 'phrase' });
    expect(reduce(setup, { type: 'enrol_back' }).screen).toMatchObject({ step: 'phrase', problem: null });
  });

  it('locks an enrolled browser on a fresh page, and unlocks', () => {
    const locked = run([enrolled]);
    expect(locked.screen).toEqual({ kind: 'locked', busy: null, problem: null, reason: 'fresh' });
    const busy = reduce(locked, { type: 'unlock', method: 'passkey' });
    expect(busy.screen).toMatchObject({ busy: 'passkey' });
    // A second press while one unlock runs changes nothing.
    expect(reduce(busy, { type: 'unlock', method: 'passphrase' })).toBe(busy);
    expect(reduce(busy, { type: 'unlocked' }).screen).toMatchObject({ kind: 'unlocked' });
  });

  it('refuses the passkey for the rest of the page after a changed key, and keeps offering the passphrase', () => {
    const refused = run([
      enrolled,
      { type: 'unlock', method: 'passkey' },
      { type: 'unlock_failed', method: 'passkey', problem: passkeyChanged },
    ]);
    expect(refused.passkeyRefused).toEqual(passkeyChanged);
    expect(passkeyOffered(refused)).toBe(false);
    expect(refused.screen).toMatchObject({ kind: 'locked', busy: null, problem: passkeyChanged });
    expect(reduce(refused, { type: 'unlock', method: 'passkey' })).toBe(refused);
    const open = run([{ type: 'unlock', method: 'passphrase' }, { type: 'unlocked' }], refused);
    expect(open.screen.kind).toBe('unlocked');
    // Still refused after locking again, until the passkey is re-enrolled.
    expect(run([{ type: 'lock', reason: 'user' }], open).passkeyRefused).toEqual(passkeyChanged);
    const reenrolled = run(
      [
        { type: 'task', task: { kind: 'repasskey', subject: 'x', step: 'prompt', done: 0, total: 0 } },
        { type: 'task_done', notice: 'ok', passkeyEnrolled: true },
      ],
      open,
    );
    expect(passkeyOffered(reenrolled)).toBe(true);
  });

  it('a cancelled passkey prompt is not a refusal', () => {
    const cancelled = vaultProblem(
      { name: 'NotAllowedError', message: 'The operation either timed out or was not allowed.' },
      'unlock-passkey',
    );
    const m = run([
      enrolled,
      { type: 'unlock', method: 'passkey' },
      { type: 'unlock_failed', method: 'passkey', problem: cancelled },
    ]);
    expect(m.passkeyRefused).toBeNull();
    expect(passkeyOffered(m)).toBe(true);
  });

  it('does not offer a passkey to a browser enrolled with the passphrase only', () => {
    const m = run([{ type: 'loaded', enrolment: 'enrolled', hasPasskey: false, unlocked: false }]);
    expect(passkeyOffered(m)).toBe(false);
    expect(reduce(m, { type: 'unlock', method: 'passkey' })).toBe(m);
  });

  it('locks with a reason, and ignores lock when not unlocked', () => {
    const open = run([enrolled, { type: 'unlock', method: 'passphrase' }, { type: 'unlocked' }]);
    expect(reduce(open, { type: 'lock', reason: 'idle' }).screen).toEqual({
      kind: 'locked',
      busy: null,
      problem: null,
      reason: 'idle',
    });
    const locked = run([enrolled]);
    expect(reduce(locked, { type: 'lock', reason: 'idle' })).toBe(locked);
  });

  it('runs tasks while unlocked and reports their end', () => {
    const open = run([enrolled, { type: 'unlock', method: 'passphrase' }, { type: 'unlocked' }]);
    const task = { kind: 'revoke' as const, subject: 'old laptop', step: 're-encrypting', done: 1, total: 3 };
    expect(reduce(open, { type: 'task', task }).screen).toMatchObject({ task });
    const failed = run(
      [
        { type: 'task', task },
        { type: 'task_failed', problem: passkeyChanged },
      ],
      open,
    );
    expect(failed.screen).toMatchObject({ task: null, problem: passkeyChanged });
    expect(reduce(failed, { type: 'dismiss' }).screen).toMatchObject({ problem: null });
  });

  it('ignores late replies that no longer apply', () => {
    const locked = run([enrolled]);
    expect(reduce(locked, { type: 'phrase_ok' })).toBe(locked);
    expect(reduce(locked, { type: 'task_done', notice: 'x' })).toBe(locked);
    expect(reduce(locked, { type: 'enrolled', hasPasskey: true })).toBe(locked);
  });

  it('offers recovery from the unlock screen', () => {
    expect(run([enrolled, { type: 'recover' }]).screen).toMatchObject({
      kind: 'enrol',
      step: 'phrase',
      why: 'recover',
    });
  });
});

describe("this browser's standing", () => {
  const set = {
    vaultId: 'vlt_a',
    recipients: [
      { id: 'brw_1', recipient: 'age1one' },
      { id: 'cli_1', recipient: 'age1two' },
    ],
  };
  it('is enrolled while its id and key are in the set', () => {
    expect(enrolmentOf({ vaultId: 'vlt_a', identityId: 'brw_1', recipient: 'age1one' }, set)).toBe('enrolled');
  });
  it('is revoked when another client removed it, and foreign when the vault changed', () => {
    expect(enrolmentOf({ vaultId: 'vlt_a', identityId: 'brw_2', recipient: 'age1three' }, set)).toBe('revoked');
    expect(enrolmentOf({ vaultId: 'vlt_a', identityId: 'brw_1', recipient: 'age1other' }, set)).toBe('revoked');
    expect(enrolmentOf({ vaultId: 'vlt_b', identityId: 'brw_1', recipient: 'age1one' }, set)).toBe('other-vault');
    expect(enrolmentOf(null, set)).toBe('none');
  });
});

describe('progress and time on the panel', () => {
  it('shows the enrolment as a checklist with the rewrap count', () => {
    expect(checklist(null).map((r) => r.state)).toEqual(['todo', 'todo', 'todo', 'todo', 'todo']);
    const rows = checklist({ step: 'rewrap', done: 3, total: 12, withPasskey: true });
    expect(rows.map((r) => r.state)).toEqual(['done', 'done', 'done', 'done', 'active']);
    expect(rows[4]!.detail).toBe('3/12');
    expect(checklist({ step: 'wrap', done: 0, total: 0, withPasskey: false }).map((r) => r.state)).toEqual([
      'skipped',
      'active',
      'todo',
      'todo',
      'todo',
    ]);
  });
  it('computes bar fractions, idle time left and a countdown', () => {
    expect([fraction(0, 0), fraction(1, 4), fraction(9, 4)]).toEqual([1, 0.25, 1]);
    expect(idleLeft(1_000, 1_000)).toBe(IDLE_LOCK_MS);
    expect(idleLeft(0, IDLE_LOCK_MS + 5)).toBe(0);
    expect([countdown(IDLE_LOCK_MS), countdown(61_000), countdown(999), countdown(-5)]).toEqual([
      '15:00',
      '1:01',
      '0:01',
      '0:00',
    ]);
  });
  it("says how long ago, in arm's-length units", () => {
    const now = 10 * 86_400_000;
    expect([now, now - 5 * 60_000, now - 3 * 3_600_000, now - 3 * 86_400_000].map((t) => ago(t, now))).toEqual([
      'just now',
      '5m ago',
      '3h ago',
      '3d ago',
    ]);
  });
  it('counts phrase words as they are typed', () => {
    expect([phraseWordCount(''), phraseWordCount('  abandon\n  ability  able '), phraseWordCount('a\tb')]).toEqual([
      0, 3, 2,
    ]);
  });
});

describe('entries and labels', () => {
  it('sorts entries by name and flags those on an older set', () => {
    const rows = entryRows(
      [
        { name: 'Z_KEY', version: 1, setVersion: 3, updatedAt: 0, needsRotation: false },
        { name: 'A_KEY', version: 2, setVersion: 2, updatedAt: 0, needsRotation: true },
      ],
      3,
    );
    expect(rows.map((r) => [r.name, r.stale, r.needsRotation])).toEqual([
      ['A_KEY', true, true],
      ['Z_KEY', false, false],
    ]);
  });
  it('names a browser from its user agent', () => {
    expect(
      defaultBrowserLabel(
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
      ),
    ).toBe('Chrome on Linux');
    expect(
      defaultBrowserLabel(
        'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1',
      ),
    ).toBe('Safari on iPhone');
    expect(
      defaultBrowserLabel('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0'),
    ).toBe('Firefox on Windows');
    expect(defaultBrowserLabel('curl/8')).toBe('Browser');
  });
});

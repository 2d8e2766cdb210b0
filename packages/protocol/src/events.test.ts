import { describe, expect, it } from 'vitest';
import {
  LEGACY_STATUS_WORDS,
  parseFrame,
  sessionEventSchema,
  sessionEventStatusSchema,
  statusEventSchema,
  statusFor,
  type SessionEventStatus,
} from './index.js';

/**
 * Every free-string status a daemon wrote before the enum, by what it now
 * reads as: the words of each adapter (Claude subtypes and result subtypes,
 * codex, opencode, Kimi, OpenClaw) and of the runner.
 */
const OLD_DAEMON_WORDS: [string, SessionEventStatus][] = [
  ['init', 'init'],
  ['api_retry', 'retrying'],
  ['compacting', 'compacting'],
  ['compact_boundary', 'compacted'],
  ['hook_started', 'hook'],
  ['hook_response', 'hook'],
  ['task_started', 'notification'],
  ['task_notification', 'notification'],
  ['notification', 'notification'],
  ['requesting', 'other'],
  ['status', 'other'],
  ['input', 'input_taken'],
  ['success', 'turn_ended'],
  ['error_max_turns', 'turn_failed'],
  ['error_during_execution', 'turn_failed'],
  ['error_max_budget_usd', 'turn_failed'],
  ['permission_denied', 'permission_denied'],
  ['rate_limit', 'rate_limit'],
  ['turn_started', 'turn_started'],
  ['reconnecting', 'retrying'],
  ['file_change_failed', 'file_change_failed'],
  ['plan', 'plan'],
  ['warning', 'warning'],
  ['step_start', 'step_started'],
  ['turn_begin', 'turn_started'],
  ['turn_end', 'turn_ended'],
  ['interrupted', 'interrupted'],
  ['retrying', 'retrying'],
  ['steered', 'input_taken'],
  ['question_dismissed', 'auto_answered'],
  ['auto_approved', 'auto_answered'],
  ['cancelled', 'interrupted'],
  ['max_steps_reached', 'turn_failed'],
  ['completed', 'turn_ended'],
  ['failed', 'turn_failed'],
  ['aborted', 'interrupted'],
  ['timeout', 'turn_failed'],
  ['input_queued', 'input_queued'],
  ['turn', 'turn_started'],
];

const oldDeviceEnvelope = (event: unknown) =>
  JSON.stringify({
    corrId: 'cor_AbCdEfGh12345678',
    type: 'session.event',
    direction: 'to_cloud',
    payload: { sessionId: 'ses_AbCdEfGh12345678', event },
    ts: 1763715600000,
  });

describe('status events', () => {
  it.each(sessionEventStatusSchema.options)('%s parses as sent, with or without the harness word and detail', (s) => {
    for (const e of [
      { kind: 'status', status: s },
      { kind: 'status', status: s, harnessStatus: 'TurnBegin', detail: 'why' },
    ]) {
      expect(statusEventSchema.parse(e)).toEqual(e);
      expect(sessionEventSchema.parse(e)).toEqual(e);
    }
  });

  it('bounds the harness word and refuses NUL in it', () => {
    const ok = { kind: 'status', status: 'other', harnessStatus: 'w'.repeat(64) };
    expect(sessionEventSchema.parse(ok)).toEqual(ok);
    for (const harnessStatus of ['w'.repeat(65), 'a\0b', '']) {
      expect(sessionEventSchema.safeParse({ kind: 'status', status: 'other', harnessStatus }).success).toBe(false);
    }
  });

  it.each(OLD_DAEMON_WORDS)('reads the old free string %j as %s, the word kept as the harness word', (word, status) => {
    const stored = { kind: 'status', status: word, detail: 'resuming with queued input' };
    const read = sessionEventSchema.parse(stored);
    expect(read).toEqual(
      status === word
        ? stored // already a value of the enum: nothing to normalise
        : { kind: 'status', status, harnessStatus: word, detail: 'resuming with queued input' },
    );
    expect(statusEventSchema.parse(read)).toEqual(read);
  });

  it('maps every legacy word to a value of the enum, and nothing else', () => {
    for (const [word, status] of Object.entries(LEGACY_STATUS_WORDS)) {
      expect(sessionEventStatusSchema.options).toContain(status);
      expect(sessionEventStatusSchema.options).not.toContain(word);
    }
    expect(statusFor(LEGACY_STATUS_WORDS, 'constructor')).toBe('other');
    expect(statusFor(LEGACY_STATUS_WORDS, '__proto__')).toBe('other');
  });

  it('reads an unknown word, or a value newer than this reader, as other and keeps the word', () => {
    expect(sessionEventSchema.parse({ kind: 'status', status: 'weird-new-status' })).toEqual({
      kind: 'status',
      status: 'other',
      harnessStatus: 'weird-new-status',
    });
    // A newer daemon's value, with its harness word: the harness word is the one kept.
    expect(sessionEventSchema.parse({ kind: 'status', status: 'teleported', harnessStatus: 'Beam' })).toEqual({
      kind: 'status',
      status: 'other',
      harnessStatus: 'Beam',
    });
    // An old word with NUL in it loses the NUL, not the event; an empty one keeps no word.
    expect(sessionEventSchema.parse({ kind: 'status', status: 'a\0b' })).toEqual({
      kind: 'status',
      status: 'other',
      harnessStatus: 'ab',
    });
    expect(sessionEventSchema.parse({ kind: 'status', status: '' })).toEqual({ kind: 'status', status: 'other' });
    // The old bound still holds.
    expect(sessionEventSchema.safeParse({ kind: 'status', status: 'w'.repeat(65) }).success).toBe(false);
  });

  it("accepts an old device's session.event with a free-string status and normalises it, refusing nothing", () => {
    const result = parseFrame(oldDeviceEnvelope({ kind: 'status', status: 'turn_begin' }));
    if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
    expect(result.envelope).toMatchObject({
      type: 'session.event',
      payload: { event: { kind: 'status', status: 'turn_started', harnessStatus: 'turn_begin' } },
    });
    const unknown = parseFrame(oldDeviceEnvelope({ kind: 'status', status: 'something-new', detail: 'd' }));
    expect(unknown).toMatchObject({
      ok: true,
      envelope: {
        payload: { event: { kind: 'status', status: 'other', harnessStatus: 'something-new', detail: 'd' } },
      },
    });
  });
});

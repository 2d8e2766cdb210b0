import { z } from 'zod';
import { safeText } from './text.js';

/**
 * What a `status` session event says, in one vocabulary for every harness.
 * Each adapter maps its CLI's own words onto these and keeps the word itself
 * in the event's `harnessStatus`; a word it has no mapping for becomes
 * `other`. (Not to be confused with `sessionStatusSchema`, the lifecycle the
 * control plane keeps for a session: queued, running, succeeded, ….)
 * Additive: values may be added, never renamed or removed; a reader that
 * does not know a value shows it as `other` would be shown.
 */
export const sessionEventStatusSchema = z.enum([
  /** The harness started (or resumed) its own session; detail: model, permission mode. */
  'init',
  /** A turn began: the harness took a prompt, or Fabric resumed it to run queued input. */
  'turn_started',
  /** One model step began inside a turn (a turn holds one step per model call). */
  'step_started',
  /** A turn finished normally. */
  'turn_ended',
  /** A turn ended on an error or a limit (turns, steps, budget, time); an `error` event usually says why. */
  'turn_failed',
  /** A turn or step was stopped before it finished: cancelled, aborted or cut off. */
  'interrupted',
  /** The harness is retrying a failed request or reconnecting; detail: the attempt and the cause. */
  'retrying',
  /** The provider reported its rate limit; `harnessStatus` says allowed, warning or rejected, detail when it resets. */
  'rate_limit',
  /** The harness began summarising its conversation to free context. */
  'compacting',
  /** The harness finished summarising: the conversation it carries on with is the summary. */
  'compacted',
  /** Tools were refused permission during the turn; detail: which. */
  'permission_denied',
  /** Follow-up input waits for the turn to end and will run as the next turn. */
  'input_queued',
  /** Follow-up input reached the running harness; detail: the text. */
  'input_taken',
  /** A request of the harness was answered without asking anyone (allowed by the permission mode, or a question Fabric cannot put was dismissed); detail: what. */
  'auto_answered',
  /** The harness's plan (to-do list) changed; detail: its steps, `[x]` when done. */
  'plan',
  /** A file change the harness made was not applied; detail: the paths. */
  'file_change_failed',
  /** A hook configured for the harness ran. */
  'hook',
  /** The harness posted a note, e.g. a background task started, progressed or finished; detail: the note. */
  'notification',
  /** The harness reported a problem and carries on; detail: the message. */
  'warning',
  /** A word this version has no name for; `harnessStatus` holds it. */
  'other',
]);
export type SessionEventStatus = z.infer<typeof sessionEventStatusSchema>;

/** Longest `harnessStatus`, in UTF-16 units (the old free-string `status` had the same bound). */
export const MAX_HARNESS_STATUS = 64;

/** A harness's own word for a status (`TurnBegin`, `api_retry`, `turn.started`): non-empty, bounded, no NUL. */
export const harnessStatusSchema = safeText(MAX_HARNESS_STATUS, 1);

/** One adapter's mapping from its CLI's words to {@link SessionEventStatus}. */
export type StatusWords = Readonly<Record<string, SessionEventStatus>>;

/** The status `table` gives `word`, or `other` when it has none (own keys only: `constructor` is just a word). */
export function statusFor(table: StatusWords, word: string): SessionEventStatus {
  return Object.hasOwn(table, word) ? table[word]! : 'other';
}

/** `word` as {@link harnessStatusSchema} holds it: NUL removed, clipped to {@link MAX_HARNESS_STATUS}. Empty when nothing is left. */
export function toHarnessStatus(word: string): string {
  return word.replaceAll('\0', '').slice(0, MAX_HARNESS_STATUS);
}

/**
 * The free-string statuses daemons wrote before {@link sessionEventStatusSchema}
 * existed, by the word they used. Stored events and envelopes from such a
 * daemon are read through this table (see `sessionEventSchema`); words that
 * were already values of the enum need no entry.
 */
export const LEGACY_STATUS_WORDS: StatusWords = {
  turn_begin: 'turn_started',
  turn: 'turn_started',
  step_start: 'step_started',
  turn_end: 'turn_ended',
  success: 'turn_ended',
  completed: 'turn_ended',
  error_max_turns: 'turn_failed',
  error_during_execution: 'turn_failed',
  error_max_budget_usd: 'turn_failed',
  error_max_structured_output_retries: 'turn_failed',
  max_steps_reached: 'turn_failed',
  failed: 'turn_failed',
  timeout: 'turn_failed',
  cancelled: 'interrupted',
  aborted: 'interrupted',
  api_retry: 'retrying',
  reconnecting: 'retrying',
  compact_boundary: 'compacted',
  input: 'input_taken',
  steered: 'input_taken',
  auto_approved: 'auto_answered',
  question_dismissed: 'auto_answered',
  hook_started: 'hook',
  hook_progress: 'hook',
  hook_response: 'hook',
  task_started: 'notification',
  task_progress: 'notification',
  task_notification: 'notification',
};

/** The event status for a free-string `word`: itself when it is a value of the enum, else {@link LEGACY_STATUS_WORDS}, else `other`. */
export function statusOfWord(word: string): SessionEventStatus {
  const known = sessionEventStatusSchema.safeParse(word);
  return known.success ? known.data : statusFor(LEGACY_STATUS_WORDS, word);
}

import {
  statusFor,
  toHarnessStatus,
  type SessionEventStatus,
  type StatusEvent,
  type StatusWords,
} from '@fabric/protocol';

/**
 * A `status` event: `status`, with `word` (the harness's own word for it: an
 * event type, a subtype, a status value) as `harnessStatus` — left out when
 * null, as for what Fabric itself observed — and `detail` clipped to the
 * schema's bound (an empty one is left out).
 */
export function statusEvent(status: SessionEventStatus, word: string | null, detail?: string): StatusEvent {
  const e: StatusEvent = { kind: 'status', status };
  const own = word === null ? '' : toHarnessStatus(word);
  if (own) e.harnessStatus = own;
  if (detail) e.detail = detail.slice(0, 2000);
  return e;
}

/** A `status` event for a word the CLI printed: its status from the adapter's `table` (`other` when it has none). */
export function wordStatusEvent(table: StatusWords, word: string, detail?: string): StatusEvent {
  return statusEvent(statusFor(table, word), word, detail);
}

import type { ErrorCode, SessionStatus } from '@fabric/protocol';
import { isTerminal } from '@fabric/protocol';

/** What can happen to a session; each maps to at most one next status. */
export type SessionInput =
  | { type: 'dispatched' }
  | { type: 'acked' }
  | { type: 'refused'; code: ErrorCode }
  | { type: 'exited'; code: number | null; cancelRequested: boolean }
  | { type: 'cancelled' }
  | { type: 'device_lost' }
  | { type: 'device_reclaimed' }
  | { type: 'device_forgot' }
  | { type: 'ack_timeout' }
  | { type: 'requeued' }
  | { type: 'queue_timeout' };

/**
 * The session state machine as a pure function: the next status, or null
 * when the input does not apply in `status` (a late or duplicate message,
 * which callers ignore). Terminal statuses never change.
 */
export function nextStatus(status: SessionStatus, input: SessionInput): SessionStatus | null {
  if (isTerminal(status)) return null;
  switch (input.type) {
    case 'dispatched':
      return status === 'queued' ? 'starting' : null;
    case 'acked':
      return status === 'starting' || status === 'lost' ? 'running' : null;
    case 'refused':
      return status === 'starting' ? 'refused' : null;
    case 'exited':
      if (status === 'queued') return null;
      if (input.cancelRequested) return 'cancelled';
      return input.code === 0 ? 'succeeded' : 'failed';
    case 'cancelled':
      return 'cancelled';
    case 'device_lost':
      return status === 'running' || status === 'starting' ? 'lost' : null;
    case 'device_reclaimed':
      return status === 'lost' || status === 'starting' ? 'running' : null;
    case 'device_forgot':
      return status === 'running' || status === 'lost' || status === 'starting' ? 'failed' : null;
    case 'ack_timeout':
      return status === 'starting' ? 'failed' : null;
    case 'requeued':
      return status === 'starting' ? 'queued' : null;
    case 'queue_timeout':
      return status === 'queued' ? 'failed' : null;
  }
}

import { describe, expect, it } from 'vitest';
import { sessionStatusSchema, terminalStatuses, type SessionStatus } from '@fabric/protocol';
import { nextStatus, type SessionInput } from './state.js';

const allStatuses = sessionStatusSchema.options;
const live = ['queued', 'starting', 'running', 'lost'] as const;

const inputs: Record<string, SessionInput> = {
  dispatched: { type: 'dispatched' },
  acked: { type: 'acked' },
  refused: { type: 'refused', code: 'command_not_allowed' },
  'exited 0': { type: 'exited', code: 0, cancelRequested: false },
  'exited 1': { type: 'exited', code: 1, cancelRequested: false },
  'exited by signal': { type: 'exited', code: null, cancelRequested: false },
  'exited after cancel': { type: 'exited', code: 0, cancelRequested: true },
  cancelled: { type: 'cancelled' },
  device_lost: { type: 'device_lost' },
  device_reclaimed: { type: 'device_reclaimed' },
  device_forgot: { type: 'device_forgot' },
  ack_timeout: { type: 'ack_timeout' },
  requeued: { type: 'requeued' },
  queue_timeout: { type: 'queue_timeout' },
};

/**
 * The whole machine as a table: for each live status, where each input leads
 * (null: the input is late or a duplicate and is ignored).
 */
const table: Record<string, Record<(typeof live)[number], SessionStatus | null>> = {
  dispatched: { queued: 'starting', starting: null, running: null, lost: null },
  acked: { queued: null, starting: 'running', running: null, lost: 'running' },
  refused: { queued: null, starting: 'refused', running: null, lost: null },
  'exited 0': { queued: null, starting: 'succeeded', running: 'succeeded', lost: 'succeeded' },
  'exited 1': { queued: null, starting: 'failed', running: 'failed', lost: 'failed' },
  'exited by signal': { queued: null, starting: 'failed', running: 'failed', lost: 'failed' },
  'exited after cancel': { queued: null, starting: 'cancelled', running: 'cancelled', lost: 'cancelled' },
  cancelled: { queued: 'cancelled', starting: 'cancelled', running: 'cancelled', lost: 'cancelled' },
  device_lost: { queued: null, starting: 'lost', running: 'lost', lost: null },
  device_reclaimed: { queued: null, starting: 'running', running: null, lost: 'running' },
  device_forgot: { queued: null, starting: 'failed', running: 'failed', lost: 'failed' },
  ack_timeout: { queued: null, starting: 'failed', running: null, lost: null },
  requeued: { queued: null, starting: 'queued', running: null, lost: null },
  queue_timeout: { queued: 'failed', starting: null, running: null, lost: null },
};

describe('nextStatus', () => {
  it('has an expectation for every status and every input', () => {
    expect([...live, ...terminalStatuses].sort()).toEqual([...allStatuses].sort());
    expect(Object.keys(table).sort()).toEqual(Object.keys(inputs).sort());
  });

  const cases = Object.entries(table).flatMap(([name, row]) =>
    live.map((status) => [status, name, row[status]] as const),
  );

  it.each(cases)('from %s, %s leads to %s', (status, name, expected) => {
    expect(nextStatus(status, inputs[name]!)).toBe(expected);
  });

  it.each(terminalStatuses.flatMap((status) => Object.keys(inputs).map((name) => [status, name] as const)))(
    'a %s session ignores %s',
    (status, name) => {
      expect(nextStatus(status, inputs[name]!)).toBeNull();
    },
  );

  describe('late and duplicate messages', () => {
    it('ignores an ack that arrives after the exit', () => {
      const after = nextStatus('running', inputs['exited 0']!)!;
      expect(after).toBe('succeeded');
      expect(nextStatus(after, { type: 'acked' })).toBeNull();
    });

    it('ignores a second ack', () => {
      const after = nextStatus('starting', { type: 'acked' })!;
      expect(nextStatus(after, { type: 'acked' })).toBeNull();
    });

    it('ignores an exit for a session that was never dispatched', () => {
      expect(nextStatus('queued', { type: 'exited', code: 0, cancelRequested: false })).toBeNull();
      expect(nextStatus('queued', { type: 'exited', code: 0, cancelRequested: true })).toBeNull();
    });

    it('ignores a refusal once the device has acked', () => {
      expect(nextStatus('running', { type: 'refused', code: 'spawn_failed' })).toBeNull();
    });

    it('ignores a second exit', () => {
      expect(nextStatus('failed', { type: 'exited', code: 0, cancelRequested: false })).toBeNull();
    });
  });

  it('reports a cancelled session as cancelled whatever its exit code', () => {
    for (const code of [0, 1, 130, null]) {
      expect(nextStatus('running', { type: 'exited', code, cancelRequested: true })).toBe('cancelled');
    }
  });

  it('takes a session to lost and back when its device drops and reconnects still running it', () => {
    const lost = nextStatus('running', { type: 'device_lost' })!;
    expect(lost).toBe('lost');
    expect(nextStatus(lost, { type: 'device_reclaimed' })).toBe('running');
  });

  it('fails a lost session whose device came back without it', () => {
    expect(nextStatus('lost', { type: 'device_forgot' })).toBe('failed');
  });

  it('walks the happy path queued → starting → running → succeeded', () => {
    let status: SessionStatus = 'queued';
    const path: SessionStatus[] = [status];
    for (const input of [inputs.dispatched!, inputs.acked!, inputs['exited 0']!]) {
      status = nextStatus(status, input)!;
      path.push(status);
    }
    expect(path).toEqual(['queued', 'starting', 'running', 'succeeded']);
  });
});

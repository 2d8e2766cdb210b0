import { describe, expect, it } from 'vitest';
import { streamEventSchema } from '@fabric/protocol';
import { printEvent } from './render.js';

function render(event: unknown): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  // As the CLI reads it: the typed client and the SSE reader parse every event with the protocol schema.
  const e = streamEventSchema.parse({ seq: 1, kind: 'event', data: event, meta: null, ts: 1 });
  printEvent(e, { stdout: (s) => (out.stdout += s), stderr: (s) => (out.stderr += s) }, false, 'ses_AbCdEfGh12345678');
  return out;
}

describe('printEvent: status events', () => {
  it('shows the shared status, the harness word and the detail', () => {
    expect(
      render({ kind: 'status', status: 'retrying', harnessStatus: 'StepRetry', detail: 'attempt 2 of 3' }),
    ).toEqual({ stdout: '', stderr: '[status] retrying (StepRetry): attempt 2 of 3\n' });
    expect(render({ kind: 'status', status: 'input_queued' }).stderr).toBe('[status] input_queued\n');
  });

  it('still shows a status stored by an older daemon, as a free string', () => {
    expect(render({ kind: 'status', status: 'turn_begin' }).stderr).toBe('[status] turn_started (turn_begin)\n');
    expect(render({ kind: 'status', status: 'weird-new-status', detail: 's' }).stderr).toBe(
      '[status] other (weird-new-status): s\n',
    );
  });

  it('escapes control characters in the harness word', () => {
    expect(render({ kind: 'status', status: 'other', harnessStatus: 'x\u001b[2J' }).stderr).toBe(
      '[status] other (x\\x1b[2J)\n',
    );
  });
});

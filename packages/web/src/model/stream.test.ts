import { describe, expect, it } from 'vitest';
import type { StreamEvent } from '@fabric/protocol';
import { pendingApprovals, toItems } from './stream.js';

let seq = 0;
const ev = (kind: StreamEvent['kind'], data: unknown, meta: StreamEvent['meta'] = null): StreamEvent =>
  ({ seq: ++seq, kind, data, meta, ts: seq }) as StreamEvent;
const norm = (e: object) => ev('event', e);

describe('toItems', () => {
  it('merges consecutive output chunks of one stream, keeps streams apart', () => {
    const items = toItems([ev('stdout', 'hel'), ev('stdout', 'lo\n'), ev('stderr', 'warn\n'), ev('stdout', 'more\n')]);
    expect(items.map((i) => (i.kind === 'output' ? [i.stream, i.text] : i.kind))).toEqual([
      ['stdout', 'hello\n'],
      ['stderr', 'warn\n'],
      ['stdout', 'more\n'],
    ]);
  });

  it('attaches a tool result to its call and reports files, reasoning and text', () => {
    const items = toItems([
      norm({ kind: 'reasoning', text: 'look first' }),
      norm({ kind: 'tool_call', id: 't1', name: 'Bash', input: { command: 'ls' } }),
      norm({ kind: 'text', text: 'Listing.' }),
      norm({ kind: 'tool_result', id: 't1', output: 'a\nb', isError: false }),
      norm({ kind: 'file_change', path: 'a.txt', change: 'modify' }),
    ]);
    expect(items.map((i) => i.kind)).toEqual(['reasoning', 'tool', 'text', 'file']);
    expect(items[1]).toMatchObject({ name: 'Bash', result: { output: 'a\nb', isError: false } });
  });

  it('folds a file change into the edit call that made it, once, and lists other changes on their own', () => {
    const edit = { file_path: '/p/hello.txt', old_string: 'hello', new_string: 'hello, world' };
    const items = toItems([
      norm({ kind: 'tool_call', id: 'e1', name: 'Edit', input: edit }),
      norm({ kind: 'tool_result', id: 'e1', output: 'ok', isError: false }),
      norm({ kind: 'file_change', path: '/p/hello.txt', change: 'modify' }),
      norm({ kind: 'file_change', path: '/p/hello.txt', change: 'modify' }),
      norm({ kind: 'file_change', path: '/p/other.txt', change: 'add' }),
    ]);
    expect(items).toMatchObject([
      { kind: 'tool', name: 'Edit', files: [{ path: '/p/hello.txt', change: 'modify' }] },
      { kind: 'file', path: '/p/hello.txt' },
      { kind: 'file', path: '/p/other.txt', change: 'add' },
    ]);
  });

  it('keeps what an approval asks about and why it was denied', () => {
    const input = { command: 'rm -rf build' };
    const items = toItems([
      ev(
        'approval',
        { tool: 'Bash', summary: 'Bash: rm -rf build', input },
        {
          requestId: 'a1',
          expiresAt: 2000,
        },
      ),
      ev('approval', null, { requestId: 'a1', decision: 'deny', message: 'not on my machine' }),
    ]);
    expect(items).toEqual([
      expect.objectContaining({ kind: 'approval', tool: 'Bash', input, decision: 'deny', reason: 'not on my machine' }),
    ]);
  });

  it('pairs an approval with its decision and lists only unanswered, unexpired ones as pending', () => {
    const items = toItems([
      ev(
        'approval',
        { tool: 'Bash', summary: 'Bash: rm -rf build' },
        {
          requestId: 'a1',
          expiresAt: 2000,
          message: 'Bash: rm -rf build',
        },
      ),
      ev('approval', { tool: 'Edit', summary: 'Edit: x' }, { requestId: 'a2', expiresAt: 2000 }),
      ev('approval', null, { requestId: 'a1', decision: 'deny' }),
    ]);
    expect(items).toMatchObject([
      { kind: 'approval', requestId: 'a1', decision: 'deny' },
      { kind: 'approval', requestId: 'a2', decision: null },
    ]);
    expect(pendingApprovals(items, 1000).map((a) => a.requestId)).toEqual(['a2']);
    expect(pendingApprovals(items, 3000)).toEqual([]);
  });

  it('hides starting/running noise, keeps meaningful status and the exit, ignores usage', () => {
    const items = toItems([
      ev('status', null, { status: 'starting' }),
      ev('status', null, { status: 'running' }),
      ev('usage', null, { usage: { input: 1, output: 2, cached: 0 } }),
      ev('status', null, { status: 'queued', message: 'waiting: no device' }),
      ev('exit', null, { status: 'succeeded', code: 0, signal: null }),
    ]);
    expect(items).toMatchObject([
      { kind: 'status', status: 'queued', message: 'waiting: no device' },
      { kind: 'exit', code: 0, status: 'succeeded' },
    ]);
  });

  it('hands out the same parsed inputs when folding again, so the screen derives diffs once', () => {
    const events = [norm({ kind: 'tool_call', id: 'w', name: 'Write', input: { file_path: 'a', content: 'x' } })];
    const [a] = toItems(events);
    const [b] = toItems([...events, ev('stdout', 'more')]);
    expect(a).not.toBe(b);
    expect((a as { input: unknown }).input).toBe((b as { input: unknown }).input);
  });

  it('drops bare turn and step markers from harnesses but keeps statuses that say something', () => {
    const items = toItems([
      norm({ kind: 'status', status: 'turn_started', harnessStatus: 'TurnBegin' }),
      norm({ kind: 'status', status: 'step_started', harnessStatus: 'step_start' }),
      norm({ kind: 'status', status: 'init', harnessStatus: 'init', detail: 'model claude-sonnet-5' }),
      norm({ kind: 'status', status: 'plan', harnessStatus: 'todo_list', detail: '[x] read\n[ ] write' }),
      norm({ kind: 'status', status: 'turn_ended', harnessStatus: 'success' }),
    ]);
    expect(items).toMatchObject([
      { kind: 'status', status: 'init', harnessStatus: 'init', message: 'model claude-sonnet-5' },
      { kind: 'status', status: 'plan', harnessStatus: 'todo_list' },
    ]);
  });

  // The control plane reads statuses older daemons stored as free strings in today's shape
  // (server/test/legacy-status.test.ts); this is what it then sends for them.
  it('shows statuses stored by older daemons as the control plane reads them', () => {
    const items = toItems([
      norm({ kind: 'status', status: 'turn_started', harnessStatus: 'turn_begin' }),
      norm({ kind: 'status', status: 'step_started', harnessStatus: 'step_start' }),
      norm({ kind: 'status', status: 'turn_ended', harnessStatus: 'success' }),
      norm({ kind: 'status', status: 'retrying', harnessStatus: 'api_retry', detail: 'attempt 1 of 2' }),
      norm({ kind: 'status', status: 'other', harnessStatus: 'weird-new-status' }),
    ]);
    expect(items).toEqual([
      expect.objectContaining({ status: 'retrying', harnessStatus: 'api_retry', message: 'attempt 1 of 2' }),
      expect.objectContaining({ status: 'other', harnessStatus: 'weird-new-status', message: null }),
    ]);
  });

  it('survives malformed event data and folds raw lines into output', () => {
    const items = toItems([
      ev('event', '{not json'),
      ev('event', null),
      norm({ kind: 'raw', line: 'plain line' }),
      norm({ kind: 'raw', line: 'second' }),
    ]);
    expect(items).toMatchObject([{ kind: 'output', text: 'plain line\nsecond\n' }]);
  });
});

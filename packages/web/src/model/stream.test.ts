import { describe, expect, it } from 'vitest';
import type { StreamEvent } from '@fabric/protocol';
import { pendingApprovals, toItems } from './stream.js';

let seq = 0;
const ev = (kind: StreamEvent['kind'], data: string | null, meta: StreamEvent['meta'] = null): StreamEvent => ({ seq: ++seq, kind, data, meta, ts: seq });
const norm = (e: object) => ev('event', JSON.stringify(e));

describe('toItems', () => {
  it('merges consecutive output chunks of one stream, keeps streams apart', () => {
    const items = toItems([ev('stdout', 'hel'), ev('stdout', 'lo\n'), ev('stderr', 'warn\n'), ev('stdout', 'more\n')]);
    expect(items.map((i) => (i.kind === 'output' ? [i.stream, i.text] : i.kind))).toEqual([['stdout', 'hello\n'], ['stderr', 'warn\n'], ['stdout', 'more\n']]);
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

  it('pairs an approval with its decision and lists only unanswered, unexpired ones as pending', () => {
    const items = toItems([
      ev('approval', JSON.stringify({ tool: 'Bash', summary: 'Bash: rm -rf build' }), { requestId: 'a1', expiresAt: 2000, message: 'Bash: rm -rf build' }),
      ev('approval', JSON.stringify({ tool: 'Edit', summary: 'Edit: x' }), { requestId: 'a2', expiresAt: 2000 }),
      ev('approval', null, { requestId: 'a1', decision: 'deny' }),
    ]);
    expect(items).toMatchObject([{ kind: 'approval', requestId: 'a1', decision: 'deny' }, { kind: 'approval', requestId: 'a2', decision: null }]);
    expect(pendingApprovals(items, 1000).map((a) => a.requestId)).toEqual(['a2']);
    expect(pendingApprovals(items, 3000)).toEqual([]);
  });

  it('hides starting/running noise, keeps meaningful status and the exit, ignores usage', () => {
    const items = toItems([
      ev('status', null, { status: 'starting' }), ev('status', null, { status: 'running' }),
      ev('usage', null, { usage: { input: 1, output: 2, cached: 0 } }),
      ev('status', null, { status: 'queued', message: 'waiting: no device' }),
      ev('exit', null, { status: 'succeeded', code: 0, signal: null }),
    ]);
    expect(items).toMatchObject([{ kind: 'status', status: 'queued', message: 'waiting: no device' }, { kind: 'exit', code: 0, status: 'succeeded' }]);
  });

  it('survives malformed event data and folds raw lines into output', () => {
    const items = toItems([ev('event', '{not json'), norm({ kind: 'raw', line: 'plain line' }), norm({ kind: 'raw', line: 'second' })]);
    expect(items).toMatchObject([{ kind: 'output', text: 'plain line\nsecond\n' }]);
  });
});

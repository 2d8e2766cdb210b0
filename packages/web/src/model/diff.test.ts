import { describe, expect, it } from 'vitest';
import { diffLines, hunks, splitLines } from './diff.js';

/**
 * CPU milliseconds this process spent in `fn`. Unlike wall time, other
 * processes on a busy machine do not add to it. (The tests run in Node.)
 */
function cpuMs(fn: () => void): number {
  interface Usage {
    user: number;
    system: number;
  }
  const { process } = globalThis as unknown as { process: { cpuUsage(previous?: Usage): Usage } };
  const before = process.cpuUsage();
  fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

const script = (before: string, after: string, opts?: { maxCells?: number }) =>
  diffLines(before, after, opts).lines.map((l) => `${l.op === 'same' ? ' ' : l.op === 'add' ? '+' : '-'}${l.text}`);

describe('splitLines', () => {
  it('does not invent a last empty line for a trailing newline, and reads CRLF', () => {
    expect(splitLines('')).toEqual([]);
    expect(splitLines('a\nb\n')).toEqual(['a', 'b']);
    expect(splitLines('a\r\nb')).toEqual(['a', 'b']);
    expect(splitLines('a\n\n')).toEqual(['a', '']);
  });
});

describe('diffLines', () => {
  it('shows a one-line edit as a removal then an addition, with line numbers on each side', () => {
    const d = diffLines('hello\n', 'hello, world\n');
    expect(d).toMatchObject({ added: 1, removed: 1, approximate: false });
    expect(d.lines).toEqual([
      { op: 'del', text: 'hello', oldNo: 1, newNo: null },
      { op: 'add', text: 'hello, world', oldNo: null, newNo: 1 },
    ]);
  });

  it('finds a shortest diff in the middle, keeping unchanged lines aligned', () => {
    expect(script('a\nb\nc\nd\ne', 'a\nc\nd\nx\ne')).toEqual([' a', '-b', ' c', ' d', '+x', ' e']);
    expect(script('x\ny\nz', 'x\ny\nz')).toEqual([' x', ' y', ' z']);
    const lines = diffLines('1\n2\n3', '0\n1\n3\n4').lines;
    expect(lines.map((l) => [l.op, l.oldNo, l.newNo])).toEqual([
      ['add', null, 1],
      ['same', 1, 2],
      ['del', 2, null],
      ['same', 3, 3],
      ['add', null, 4],
    ]);
  });

  it('shows a new file as all additions and a deleted one as all removals', () => {
    expect(diffLines('', '# Notes\n\nhi\n')).toMatchObject({ added: 3, removed: 0 });
    expect(diffLines('a\nb', '')).toMatchObject({ added: 0, removed: 2 });
  });

  it('falls back to a block replacement past the size cap, still true to both sides', () => {
    const before = Array.from({ length: 300 }, (_, k) => `old ${k}`).join('\n');
    const after = Array.from({ length: 300 }, (_, k) => (k % 2 ? `old ${k}` : `new ${k}`)).join('\n');
    const d = diffLines(`head\n${before}\ntail`, `head\n${after}\ntail`, { maxCells: 1000 });
    expect(d.approximate).toBe(true);
    expect(d.lines[0]).toMatchObject({ op: 'same', text: 'head' });
    expect(d.lines.at(-1)).toMatchObject({ op: 'same', text: 'tail', oldNo: 302, newNo: 302 });
    expect(d.lines.filter((l) => l.op !== 'add').map((l) => l.text)).toEqual(['head', ...before.split('\n'), 'tail']);
    expect(d.lines.filter((l) => l.op !== 'del').map((l) => l.text)).toEqual(['head', ...after.split('\n'), 'tail']);
  });

  it('diffs two thousand-line files quickly', () => {
    const a = Array.from({ length: 1000 }, (_, k) => `line ${k}`);
    const b = a.map((l, k) => (k % 7 === 0 ? `${l} changed` : l));
    let d!: ReturnType<typeof diffLines>;
    expect(
      cpuMs(() => {
        d = diffLines(a.join('\n'), b.join('\n'));
      }),
    ).toBeLessThan(1000);
    expect(d).toMatchObject({ added: 143, removed: 143, approximate: false });
  });
});

describe('hunks', () => {
  it('folds long unchanged runs around the changes into skip markers', () => {
    const a = Array.from({ length: 20 }, (_, k) => `l${k}`);
    const b = [...a];
    b[10] = 'changed';
    const h = hunks(diffLines(a.join('\n'), b.join('\n')), 2);
    expect(h.map((x) => (x.op === 'skip' ? `…${x.count}` : `${x.op}:${x.text}`))).toEqual([
      '…8',
      'same:l8',
      'same:l9',
      'del:l10',
      'add:changed',
      'same:l11',
      'same:l12',
      '…7',
    ]);
  });

  it('caps the rows shown and counts the rest', () => {
    const h = hunks(diffLines('', Array.from({ length: 1000 }, (_, k) => `${k}`).join('\n')), 3, 50);
    expect(h).toHaveLength(51);
    expect(h[50]).toEqual({ op: 'skip', count: 950 });
  });
});

/**
 * Line diffs for the session screen: what an agent's edit changed. A plain
 * longest-common-subsequence over lines, after trimming the common head and
 * tail; past `maxCells` (old × new lines left in the middle) it stops
 * looking for the shortest diff and shows the middle as removed-then-added,
 * which is still a true account of the change, just a longer one.
 */

export interface DiffLine {
  op: 'same' | 'add' | 'del';
  text: string;
  /** 1-based line numbers in the old and new text (null on the side the line is not in). */
  oldNo: number | null;
  newNo: number | null;
}

export interface Diff {
  lines: DiffLine[];
  added: number;
  removed: number;
  /** True when the middle was too large to align and is shown as a block replacement. */
  approximate: boolean;
}

/** Split text into lines; a final newline does not make an extra empty line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Diff two texts line by line. Pure; at most `maxCells` table cells (default 1M, ~4 MB). */
export function diffLines(before: string, after: string, opts: { maxCells?: number } = {}): Diff {
  const a = splitLines(before);
  const b = splitLines(after);
  const maxCells = opts.maxCells ?? 1_000_000;
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);

  const ops: ('same' | 'add' | 'del')[] = [];
  for (let k = 0; k < head; k++) ops.push('same');
  let approximate = false;
  if (midA.length * midB.length > maxCells) {
    approximate = true;
    for (const _line of midA) ops.push('del');
    for (const _line of midB) ops.push('add');
  } else {
    ops.push(...lcsOps(midA, midB));
  }
  for (let k = 0; k < tail; k++) ops.push('same');

  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  let added = 0;
  let removed = 0;
  for (const op of ops) {
    if (op === 'same') lines.push({ op, text: a[i]!, oldNo: ++i, newNo: ++j });
    else if (op === 'del') {
      lines.push({ op, text: a[i]!, oldNo: ++i, newNo: null });
      removed++;
    } else {
      lines.push({ op, text: b[j]!, oldNo: null, newNo: ++j });
      added++;
    }
  }
  return { lines, added, removed, approximate };
}

/** The edit script of a shortest diff: removals before additions within each changed run. */
function lcsOps(a: string[], b: string[]): ('same' | 'add' | 'del')[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = length of the LCS of a[i..] and b[j..], row-major in one array.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] =
        a[i] === b[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
    }
  }
  const ops: ('same' | 'add' | 'del')[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push('same');
      i++;
      j++;
    } else if (lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!) {
      ops.push('del');
      i++;
    } else {
      ops.push('add');
      j++;
    }
  }
  while (i++ < n) ops.push('del');
  while (j++ < m) ops.push('add');
  return ops;
}

export type Hunk = DiffLine | { op: 'skip'; count: number };

/**
 * The lines worth showing: every change with `context` unchanged lines
 * around it; longer unchanged runs fold into one `skip` marker. Then at most
 * `maxLines` rows, the rest counted in a final `skip`.
 */
export function hunks(diff: Diff, context = 3, maxLines = 400): Hunk[] {
  const { lines } = diff;
  const keep = new Uint8Array(lines.length);
  lines.forEach((l, k) => {
    if (l.op === 'same') return;
    for (let d = Math.max(0, k - context); d <= Math.min(lines.length - 1, k + context); d++) keep[d] = 1;
  });
  const out: Hunk[] = [];
  let skipped = 0;
  let shown = 0;
  for (let k = 0; k < lines.length; k++) {
    if (!keep[k] || shown >= maxLines) {
      skipped++;
      continue;
    }
    if (skipped) {
      out.push({ op: 'skip', count: skipped });
      skipped = 0;
    }
    out.push(lines[k]!);
    shown++;
  }
  if (skipped) out.push({ op: 'skip', count: skipped });
  return out;
}

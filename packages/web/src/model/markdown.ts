/**
 * A small, safe Markdown reader for agents' replies: text in, a plain tree
 * out, no HTML anywhere. The tree is drawn as Preact elements
 * (`screens/session/Markdown.tsx`), so nothing an agent writes can become
 * markup or script: raw HTML stays literal text, and a link survives only
 * when its address is http, https or mailto (`safeHref`).
 *
 * Covers what agents write: paragraphs, ATX headings, emphasis, strong,
 * strikethrough, inline code, fenced code blocks, bullet and numbered lists
 * (nested by indentation), block quotes, rules, GFM tables, links and bare
 * URLs. It is deliberately not CommonMark-complete; where it is unsure, it
 * keeps the text as written.
 */

export type Inline =
  | { type: 'text'; text: string }
  | { type: 'code'; text: string }
  | { type: 'em'; children: Inline[] }
  | { type: 'strong'; children: Inline[] }
  | { type: 'del'; children: Inline[] }
  | { type: 'link'; href: string; children: Inline[] }
  | { type: 'br' };

export type Align = 'left' | 'center' | 'right' | null;

export type Block =
  | { type: 'paragraph'; children: Inline[] }
  | { type: 'heading'; level: 1 | 2 | 3 | 4 | 5 | 6; children: Inline[] }
  | { type: 'code'; lang: string | null; text: string }
  | { type: 'list'; ordered: boolean; start: number; items: Block[][] }
  | { type: 'quote'; children: Block[] }
  | { type: 'table'; align: Align[]; head: Inline[][]; rows: Inline[][][] }
  | { type: 'rule' };

/** Nesting deeper than this (quotes in lists in quotes…) is kept as text. */
const MAX_DEPTH = 12;
/**
 * How far an opener (`*`, `[`, a backtick run) looks for its closer. Spans
 * longer than this stay literal; it keeps hostile or huge input linear.
 */
const SCAN = 4000;

/**
 * The address a link may point at, or null when it must not be a link:
 * only http(s) URLs with a host and mailto addresses pass. Whitespace and
 * control characters anywhere reject it (browsers strip some of them, which
 * is how `java\tscript:` tricks work).
 */
export function safeHref(raw: string): string | null {
  const href = raw.trim();
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
  if (href === '' || /[\u0000-\u0020\u007f-\u009f]/.test(href)) return null;
  if (/^https?:\/\/[^/?#\\]/i.test(href)) return href;
  if (/^mailto:[^/]/i.test(href)) return href;
  return null;
}

// ---- blocks -----------------------------------------------------------------

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const ITEM = /^( {0,3})([-*+]|(\d{1,9})[.)])(?:([ \t]+)(.*))?$/;
const TABLE_SEP = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

const blank = (l: string) => l.trim() === '';

/** Parse Markdown into blocks. Pure and total: any string gives a tree. */
export function parseMarkdown(text: string): Block[] {
  return parseBlocks(text.replace(/\r\n?/g, '\n').split('\n'), 0);
}

function parseBlocks(lines: string[], depth: number): Block[] {
  const out: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (blank(line)) {
      i++;
      continue;
    }

    const fence = FENCE.exec(line);
    if (fence) {
      const mark = fence[1]!;
      const indent = line.length - line.trimStart().length;
      const body: string[] = [];
      i++;
      while (i < lines.length && !isClosingFence(lines[i]!, mark)) body.push(stripIndent(lines[i++]!, indent));
      i++; // the closing fence (or the end: a reply still streaming has no close yet)
      out.push({ type: 'code', lang: fence[2] ? fence[2] : null, text: body.join('\n') });
      continue;
    }

    const heading = HEADING.exec(line);
    if (heading) {
      out.push({ type: 'heading', level: heading[1]!.length as 1, children: parseInline(heading[2] ?? '', depth) });
      i++;
      continue;
    }

    if (RULE.test(line)) {
      out.push({ type: 'rule' });
      i++;
      continue;
    }

    if (QUOTE.test(line) && depth < MAX_DEPTH) {
      const body: string[] = [];
      while (i < lines.length && !blank(lines[i]!)) {
        const q = QUOTE.exec(lines[i]!);
        if (q) body.push(q[1]!);
        else if (body.length && !startsBlock(lines[i]!))
          body.push(lines[i]!); // lazy continuation
        else break;
        i++;
      }
      out.push({ type: 'quote', children: parseBlocks(body, depth + 1) });
      continue;
    }

    if (ITEM.test(line) && depth < MAX_DEPTH) {
      i = parseList(lines, i, depth, out);
      continue;
    }

    if (line.includes('|') && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]!) && lines[i + 1]!.includes('-')) {
      const head = splitRow(line);
      const align = splitRow(lines[i + 1]!).map(alignOf);
      if (head.length === align.length) {
        i += 2;
        const rows: Inline[][][] = [];
        while (i < lines.length && !blank(lines[i]!) && lines[i]!.includes('|')) {
          const cells = splitRow(lines[i++]!);
          rows.push(head.map((_, c) => parseInline(cells[c] ?? '', depth)));
        }
        out.push({ type: 'table', align, head: head.map((h) => parseInline(h, depth)), rows });
        continue;
      }
    }

    const para: string[] = [];
    while (i < lines.length && !blank(lines[i]!) && (para.length === 0 || !startsBlock(lines[i]!)))
      para.push(lines[i++]!);
    out.push({ type: 'paragraph', children: parseInline(para.map((l) => l.trim()).join('\n'), depth) });
  }
  return out;
}

/** A line that interrupts a paragraph: a fence, heading, rule, quote or list item. */
function startsBlock(line: string): boolean {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line);
}

function isClosingFence(line: string, mark: string): boolean {
  const t = line.trim();
  return (
    t.length >= mark.length &&
    t.startsWith(mark[0]!) &&
    /^(`+|~+)$/.test(t) &&
    line.length - line.trimStart().length <= 3
  );
}

function stripIndent(line: string, n: number): string {
  let k = 0;
  while (k < n && line[k] === ' ') k++;
  return line.slice(k);
}

/** Read one list starting at `start`; returns the index after it. */
function parseList(lines: string[], start: number, depth: number, out: Block[]): number {
  const first = ITEM.exec(lines[start]!)!;
  const ordered = first[3] !== undefined;
  const delimiter = ordered ? first[2]!.slice(-1) : first[2]!;
  const items: Block[][] = [];
  let i = start;
  while (i < lines.length) {
    const m = ITEM.exec(lines[i]!);
    if (!m || (m[3] !== undefined) !== ordered || (ordered ? m[2]!.slice(-1) : m[2]!) !== delimiter) break;
    // Content lines belong to the item when indented at least to its text.
    const width = m[1]!.length + m[2]!.length + Math.min(m[4]?.length ?? 1, 4);
    const body: string[] = [m[5] ?? ''];
    i++;
    while (i < lines.length) {
      const l = lines[i]!;
      if (blank(l)) {
        // A blank line ends the item unless what follows is still indented into it.
        let j = i;
        while (j < lines.length && blank(lines[j]!)) j++;
        if (j < lines.length && indentOf(lines[j]!) >= width) {
          for (; i < j; i++) body.push('');
          continue;
        }
        break;
      }
      if (indentOf(l) >= width) body.push(l.slice(width));
      else if (!startsBlock(l) && !blank(body[body.length - 1]!))
        body.push(l.trim()); // lazy continuation
      else break;
      i++;
    }
    items.push(parseBlocks(body, depth + 1));
    // Blank lines between items keep the list going.
    let j = i;
    while (j < lines.length && blank(lines[j]!)) j++;
    if (j < lines.length && j > i && ITEM.test(lines[j]!) && indentOf(lines[j]!) <= 3) i = j;
  }
  out.push({ type: 'list', ordered, start: ordered ? Number(first[3]) : 1, items });
  return i;
}

function indentOf(line: string): number {
  let n = 0;
  for (const ch of line) {
    if (ch === ' ') n++;
    else if (ch === '\t') n += 4 - (n % 4);
    else break;
  }
  return n;
}

function splitRow(line: string): string[] {
  let t = line.trim();
  if (t.startsWith('|')) t = t.slice(1);
  if (t.endsWith('|') && !t.endsWith('\\|')) t = t.slice(0, -1);
  const cells: string[] = [];
  let cell = '';
  for (let k = 0; k < t.length; k++) {
    if (t[k] === '\\' && t[k + 1] === '|') {
      cell += '|';
      k++;
    } else if (t[k] === '|') {
      cells.push(cell.trim());
      cell = '';
    } else cell += t[k]!;
  }
  cells.push(cell.trim());
  return cells;
}

function alignOf(sep: string): Align {
  const s = sep.trim();
  const left = s.startsWith(':');
  const right = s.endsWith(':');
  return left && right ? 'center' : right ? 'right' : left ? 'left' : null;
}

// ---- inline -----------------------------------------------------------------

const PUNCT = /[!-/:-@[-`{-~]/;
const BARE_URL = /^(?:https?:\/\/|mailto:)[^\s<>]*[^\s<>.,:;"'!?)\]*_~]/i;
const AUTOLINK = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i;
const wordChar = (ch: string | undefined) => ch !== undefined && /[\p{L}\p{N}]/u.test(ch);

/** Parse one paragraph's (or cell's, or heading's) inline content. Newlines become line breaks. */
export function parseInline(text: string, depth = 0): Inline[] {
  const out: Inline[] = [];
  let buf = '';
  const flush = () => {
    if (buf) {
      out.push({ type: 'text', text: buf });
      buf = '';
    }
  };
  const push = (node: Inline) => {
    flush();
    out.push(node);
  };
  const misses = new Map<string, number>();
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    const rest = text.slice(i);

    if (ch === '\\' && i + 1 < text.length && PUNCT.test(text[i + 1]!)) {
      buf += text[i + 1]!;
      i += 2;
      continue;
    }
    if (ch === '\\' && text[i + 1] === '\n') {
      push({ type: 'br' });
      i += 2;
      continue;
    }
    if (ch === '\n') {
      buf = buf.replace(/ +$/, '');
      push({ type: 'br' });
      i++;
      continue;
    }

    if (ch === '`') {
      const run = /^`+/.exec(rest)![0];
      const close = findRun(text, '`', run.length, i + run.length);
      if (close < 0) {
        buf += run;
        i += run.length;
        continue;
      }
      let code = text.slice(i + run.length, close).replace(/\n/g, ' ');
      if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ') && code.trim() !== '') code = code.slice(1, -1);
      push({ type: 'code', text: code });
      i = close + run.length;
      continue;
    }

    if (ch === '<') {
      const auto = AUTOLINK.exec(rest);
      if (auto) {
        const href = safeHref(auto[1]!);
        if (href) push({ type: 'link', href, children: [{ type: 'text', text: auto[1]!.replace(/^mailto:/i, '') }] });
        else buf += auto[0];
        i += auto[0].length;
        continue;
      }
    }

    if (ch === '[' && depth < MAX_DEPTH) {
      const link = readLink(text, i);
      if (link) {
        const children = parseInline(link.label, depth + 1);
        const href = safeHref(link.href);
        if (href) push({ type: 'link', href, children });
        else {
          flush();
          out.push(...children);
        }
        i = link.end;
        continue;
      }
    }

    if ((ch === 'h' || ch === 'H' || ch === 'm' || ch === 'M') && !wordChar(text[i - 1])) {
      const url = BARE_URL.exec(rest);
      if (url && safeHref(url[0])) {
        push({ type: 'link', href: url[0], children: [{ type: 'text', text: url[0] }] });
        i += url[0].length;
        continue;
      }
    }

    if ((ch === '*' || ch === '_' || ch === '~') && depth < MAX_DEPTH) {
      const span = readEmphasis(text, i, misses);
      if (span) {
        let node: Inline = { type: span.type, children: parseInline(span.inner, depth + 1) };
        if (span.both) node = { type: 'strong', children: [node] };
        push(node);
        i = span.end;
        continue;
      }
    }

    buf += ch;
    i++;
  }
  flush();
  return out;
}

/** Index of the next run of exactly `n` `ch`s at or after `from`, or -1. */
function findRun(text: string, ch: string, n: number, from: number): number {
  const end = Math.min(text.length, from + SCAN);
  for (let k = from; k < end; k++) {
    if (text[k] !== ch) continue;
    let e = k;
    while (text[e] === ch) e++;
    if (e - k === n) return k;
    k = e - 1;
  }
  return -1;
}

/** `[label](href "title")` at `i`, with balanced brackets and parentheses; null when it is not one. */
function readLink(text: string, i: number): { label: string; href: string; end: number } | null {
  let depth = 0;
  let k = i;
  const limit = Math.min(text.length, i + SCAN / 4); // labels are short
  for (; k < limit; k++) {
    const c = text[k];
    if (c === '\\') {
      k++;
      continue;
    }
    if (c === '`') {
      const close = findRun(text, '`', /^`+/.exec(text.slice(k))![0].length, k + 1);
      if (close > 0) k = close;
      continue;
    }
    if (c === '[') depth++;
    else if (c === ']' && --depth === 0) break;
    else if (c === '\n' && text[k + 1] === '\n') return null;
  }
  if (k >= limit || text[k + 1] !== '(') return null;
  const label = text.slice(i + 1, k);
  let p = k + 2;
  let parens = 1;
  let href: string;
  if (text[p] === '<') {
    const close = text.indexOf('>', p);
    if (close < 0) return null;
    href = text.slice(p + 1, close);
    p = close + 1;
  } else {
    const s = p;
    for (; p < Math.min(text.length, s + SCAN); p++) {
      const c = text[p]!;
      if (c === '(') parens++;
      else if (c === ')' && --parens === 0) break;
      else if (/\s/.test(c)) break;
    }
    href = text.slice(s, p);
  }
  // An optional title, ignored.
  const tail = /^\s*(?:"[^"]*"|'[^']*')?\s*\)/.exec(text.slice(p));
  if (!tail) return null;
  return { label, href, end: p + tail[0].length };
}

/**
 * `**strong**`, `__strong__`, `*em*`, `_em_` or `~~del~~` at `i`. The opener
 * must be followed, and the closer preceded, by non-space; underscores only
 * count at word edges, so `snake_case_names` stay as written.
 */
function readEmphasis(
  text: string,
  i: number,
  misses: Map<string, number>,
): { type: 'em' | 'strong' | 'del'; both?: true; inner: string; end: number } | null {
  const ch = text[i]!;
  if (ch !== '~' && text.startsWith(ch.repeat(3), i) && text[i + 3] !== ch && !/\s/.test(text[i + 3] ?? ' ')) {
    // `***both***`: strong around em.
    const close = text.indexOf(ch.repeat(3), i + 4);
    if (close > 0 && close - i < SCAN && !/\s/.test(text[close - 1]!) && !text.slice(i + 3, close).includes('\n\n'))
      return { type: 'em', both: true, inner: text.slice(i + 3, close), end: close + 3 };
  }
  const run = ch === '~' ? (text.startsWith('~~', i) ? 2 : 0) : text[i + 1] === ch ? 2 : 1;
  if (run === 0) return null;
  if (ch === '_' && wordChar(text[i - 1])) return null;
  const open = i + run;
  if (open >= text.length || /\s/.test(text[open]!) || text[open] === ch) return null;
  const limit = Math.min(text.length - run, open + SCAN);
  // Whether a position closes depends only on the text around it, so a span
  // already searched without finding a closer need not be searched again.
  const delim = ch.repeat(run);
  const searched = misses.get(delim) ?? 0;
  for (let k = Math.max(open + 1, searched); k <= limit; k++) {
    const c = text[k];
    if (c === '`') {
      const n = /^`+/.exec(text.slice(k))![0].length;
      const close = findRun(text, '`', n, k + n);
      if (close > 0) {
        k = close + n - 1;
        continue;
      }
    }
    if (c === '\\') {
      k++;
      continue;
    }
    if (c === '\n' && text[k + 1] === '\n') return null;
    if (c !== ch || (run === 2 && text[k + 1] !== ch)) continue;
    if (/\s/.test(text[k - 1]!)) continue;
    // A run longer than ours is a different delimiter (`**` inside `*…*`): skip past it.
    if (text[k + run] === ch) {
      if (run === 1) {
        let e = k;
        while (text[e] === ch) e++;
        k = e - 1;
        continue;
      }
      // `***` closes the strong here and the em after it; a longer run is another delimiter.
      if (text[k + 3] === ch) continue;
    }
    if (ch === '_' && wordChar(text[k + run])) continue;
    return { type: ch === '~' ? 'del' : run === 2 ? 'strong' : 'em', inner: text.slice(open, k), end: k + run };
  }
  misses.set(delim, limit + 1);
  return null;
}

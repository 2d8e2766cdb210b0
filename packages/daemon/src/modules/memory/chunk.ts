import type { MemoryRecord } from './frontmatter.js';
import { estimateTokens } from './text.js';

/** One piece of a memory, sized for recall. */
export interface Chunk {
  /** 0-based position in the memory. */
  ordinal: number;
  text: string;
  /** Headings above the chunk's start, outermost first. */
  section: string[];
  tokens: number;
}

export interface ChunkOptions {
  /** A chunk is closed once it reaches this many tokens. */
  targetTokens?: number;
  /** No chunk is longer (a longer paragraph is cut at sentences, then words). */
  maxTokens?: number;
  /** A section smaller than this is merged with the next one rather than standing alone. */
  minTokens?: number;
  /** Tokens of the previous chunk's end repeated at the start of the next one, within a section. */
  overlapTokens?: number;
}

/** A chunk of a memory with its enrichment: what the index stores and embeds. */
export interface MemoryChunkText {
  ordinal: number;
  text: string;
  /** Title or summary, section, category, tags and source: searched and embedded with the text. */
  context: string;
  tokens: number;
}

const DEFAULTS: Required<ChunkOptions> = { targetTokens: 300, maxTokens: 400, minTokens: 60, overlapTokens: 40 };
const HEADING_RE = /^(#{1,6})[ \t]+(.+?)[ \t#]*$/;
const FENCE_RE = /^[ \t]*(`{3,}|~{3,})/;

type Block = { kind: 'heading'; level: number; title: string; text: string } | { kind: 'text'; text: string };

/**
 * Split a markdown body into chunks of about `targetTokens`: a heading starts
 * a new chunk (unless the current one is still tiny), paragraphs and fenced
 * code blocks are kept whole when they fit, and a chunk cut inside a section
 * repeats the last sentence(s) of the previous one (up to `overlapTokens`) so
 * a thought split across the cut is still found whole. Empty bodies give no
 * chunks. Pure: the same text always gives the same chunks.
 */
export function chunkMarkdown(body: string, options: ChunkOptions = {}): Chunk[] {
  const o = { ...DEFAULTS, ...options };
  const maxChars = o.maxTokens * 4;
  const chunks: Chunk[] = [];
  const headings: string[] = [];
  let parts: string[] = [];
  let chars = 0;
  let section: string[] = [];
  // True while `parts` holds only the overlap carried from the previous chunk.
  let carryOnly = false;

  const flush = (): void => {
    const text = parts.join('\n\n').trim();
    if (text !== '' && !carryOnly) chunks.push({ ordinal: chunks.length, text, section, tokens: estimateTokens(text) });
    parts = [];
    chars = 0;
    carryOnly = false;
  };
  const add = (text: string): void => {
    if (parts.length === 0) section = [...headings];
    parts.push(text);
    chars += text.length + 2;
    carryOnly = false;
  };
  const cut = (): void => {
    const carry = overlapOf(parts[parts.length - 1] ?? '', o.overlapTokens * 4);
    flush();
    if (carry !== '') {
      add(carry);
      carryOnly = true;
    }
  };

  for (const block of blocks(body)) {
    if (block.kind === 'heading') {
      // Overlap never crosses a heading; a tiny section is merged with the next.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by cut()
      if (carryOnly || chars / 4 >= o.minTokens) flush();
      headings.length = Math.min(headings.length, block.level - 1);
      headings.push(block.title);
      add(block.text);
      continue;
    }
    for (const piece of fitPieces(block.text, maxChars)) {
      if (chars + piece.length > maxChars && parts.length > 0) cut();
      // The overlap gives way when it would push the chunk past the limit.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by cut()
      if (carryOnly && chars + piece.length > maxChars) flush();
      add(piece);
      if (chars / 4 >= o.targetTokens) cut();
    }
  }
  flush();
  return chunks;
}

/** Headings, fenced code blocks (whole, fences included) and paragraphs, in order. */
function blocks(body: string): Block[] {
  const out: Block[] = [];
  const lines = body.replace(/\r\n?/g, '\n').split('\n');
  let para: string[] = [];
  const endPara = (): void => {
    const text = para.join('\n').trim();
    if (text !== '') out.push({ kind: 'text', text });
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const fence = FENCE_RE.exec(line);
    if (fence) {
      endPara();
      const marker = fence[1]!;
      const code = [line];
      for (i++; i < lines.length; i++) {
        code.push(lines[i] ?? '');
        if ((lines[i] ?? '').trim().startsWith(marker)) break;
      }
      out.push({ kind: 'text', text: code.join('\n') });
      continue;
    }
    const heading = HEADING_RE.exec(line);
    if (heading) {
      endPara();
      out.push({ kind: 'heading', level: heading[1]!.length, title: heading[2]!.trim(), text: line.trim() });
      continue;
    }
    if (line.trim() === '') endPara();
    else para.push(line);
  }
  endPara();
  return out;
}

/** A block cut into pieces of at most maxChars: whole when it fits, else at sentence ends, else at spaces, else hard. */
function fitPieces(text: string, maxChars: number): string[] {
  if (text.length <= maxChars) return [text];
  const out: string[] = [];
  let current = '';
  for (const sentence of sentences(text)) {
    for (const part of sentence.length <= maxChars ? [sentence] : splitWords(sentence, maxChars)) {
      if (current !== '' && current.length + 1 + part.length > maxChars) {
        out.push(current);
        current = '';
      }
      current = current === '' ? part : `${current} ${part}`;
    }
  }
  if (current !== '') out.push(current);
  return out;
}

function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function splitWords(text: string, maxChars: number): string[] {
  const out: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/)) {
    for (let i = 0; i < word.length; i += maxChars) {
      const piece = word.slice(i, i + maxChars);
      if (current !== '' && current.length + 1 + piece.length > maxChars) {
        out.push(current);
        current = '';
      }
      current = current === '' ? piece : `${current} ${piece}`;
    }
  }
  if (current !== '') out.push(current);
  return out;
}

/** The last whole sentences of a part, up to maxChars together ('' for a heading or code, or when even one is longer). */
function overlapOf(last: string, maxChars: number): string {
  if (last.startsWith('#') || last.startsWith('```') || last.startsWith('~~~')) return '';
  const all = sentences(last);
  const kept: string[] = [];
  let chars = 0;
  for (let i = all.length - 1; i >= 0; i--) {
    const s = all[i]!;
    if (chars + s.length > maxChars) break;
    kept.unshift(s);
    chars += s.length + 1;
  }
  return kept.join(' ');
}

/**
 * The chunks of one memory, each with its contextual enrichment: a line
 * naming what the chunk belongs to (the title, or the summary; the headings
 * above it; category, tags, source: values only, as labels such as
 * "category:" in every chunk would only add noise), which is prepended to the text before
 * embedding and searched by words with it, so a chunk deep in a runbook still
 * matches a query that names the runbook. A stored memory's summary leads its
 * text (it is the memory); an ingested document's text stands as it is.
 */
export function chunkMemory(record: MemoryRecord, options?: ChunkOptions): MemoryChunkText[] {
  const summary = record.summary.trim();
  const lead = record.title === undefined && summary !== '' && !record.body.trimStart().startsWith(summary);
  const text = lead ? `${summary}\n\n${record.body}` : record.body;
  const name = (record.title ?? summary).slice(0, 200);
  return chunkMarkdown(text, options).map((c) => {
    const context = [
      name,
      c.section.length > 0 && c.section.join(' > ') !== name ? c.section.join(' > ') : '',
      record.category,
      record.tags.join(', '),
      record.source,
    ]
      .filter((p) => p !== '')
      .join(' | ');
    return { ordinal: c.ordinal, text: c.text, context, tokens: c.tokens };
  });
}

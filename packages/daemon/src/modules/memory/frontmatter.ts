import { z } from 'zod';
import { memoryCategorySchema, memoryIdSchema, memoryTagSchema } from '@fabric/protocol';

/**
 * The on-disk form of one memory: a markdown file with a small frontmatter.
 *
 *     ---
 *     id: mem_3fQ9xK2aLbC7dE1f
 *     created: 2025-01-15T10:20:30.000Z
 *     category: "decision"
 *     tags: ["backup", "keys"]
 *     summary: "rotate the backup keys every 90 days"
 *     source: "owner"
 *     ---
 *
 *     The detail, as markdown.
 *
 * The daemon writes string values as JSON strings (one line, any character
 * escaped). A person editing the file may write plain values (`category:
 * runbook`, `tags: [a, b]` or `tags: a, b`, `'single quoted'`); the parser
 * accepts those, ignores keys it does not know, and rejects anything it
 * cannot read for sure (no fences, a line that is not `key: value`, a
 * repeated key, a bad id or date) with a message naming the line.
 */

/** One memory as its file holds it. `created` is ms since the epoch. */
export interface MemoryRecord {
  id: string;
  created: number;
  category: string;
  tags: string[];
  /** One line; for an ingested document, its title or first line. */
  summary: string;
  source: string;
  /** An ingested document's title, when it had one. */
  title?: string;
  /** The markdown body: a stored memory's detail, an ingested document's text. */
  body: string;
}

export type ParsedMemoryFile = { ok: true; record: MemoryRecord } | { ok: false; message: string };

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;
const KEY_RE = /^([A-Za-z_][A-Za-z0-9_-]*):(?:[ \t]+(.*))?$/;

const frontmatterSchema = z.object({
  id: memoryIdSchema,
  created: z
    .string()
    .regex(ISO_RE, 'created is an ISO time such as 2025-01-15T10:20:30Z')
    .refine((s) => Number.isFinite(Date.parse(s)), 'created is not a real time'),
  category: memoryCategorySchema.default('note'),
  tags: z.array(memoryTagSchema).max(32).default([]),
  summary: z.string().max(2000).default(''),
  source: z.string().max(512).default(''),
  title: z.string().max(300).optional(),
});

/** The file text for a record (frontmatter, a blank line, the body, a final newline). */
export function formatMemoryFile(record: MemoryRecord): string {
  const lines = [
    '---',
    `id: ${record.id}`,
    `created: ${new Date(record.created).toISOString()}`,
    `category: ${JSON.stringify(record.category)}`,
    `tags: ${JSON.stringify(record.tags)}`,
    `summary: ${JSON.stringify(record.summary)}`,
    `source: ${JSON.stringify(record.source)}`,
  ];
  if (record.title !== undefined) lines.push(`title: ${JSON.stringify(record.title)}`);
  lines.push('---', '');
  const body = record.body.endsWith('\n') || record.body === '' ? record.body : `${record.body}\n`;
  return `${lines.join('\n')}\n${body}`;
}

/** Parse a memory file. Never throws: a file it cannot read for sure comes back as `{ok: false, message}`. */
export function parseMemoryFile(text: string): ParsedMemoryFile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines[0]?.trim() !== '---') return fail('no frontmatter: the file must start with a line "---"');
  const end = lines.findIndex((line, i) => i > 0 && line.trim() === '---');
  if (end < 0) return fail('frontmatter not closed: add a line "---" after it');

  const fields: Record<string, unknown> = {};
  for (let i = 1; i < end; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const m = KEY_RE.exec(line.trimEnd());
    if (!m) return fail(`line ${i + 1}: expected "key: value"`);
    const key = m[1]!;
    if (Object.hasOwn(fields, key)) return fail(`line ${i + 1}: "${key}" appears twice`);
    const value = parseValue(m[2] ?? '');
    if (value === undefined) return fail(`line ${i + 1}: cannot read the value of "${key}"`);
    fields[key] = key === 'tags' && typeof value === 'string' ? splitList(value) : value;
  }

  const parsed = frontmatterSchema.safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(`${issue?.path.join('.') || 'frontmatter'}: ${issue?.message ?? 'invalid'}`);
  }
  const f = parsed.data;
  // The blank line after the closing fence belongs to the format, not the body.
  const bodyLines = lines.slice(end + 1);
  if (bodyLines[0]?.trim() === '') bodyLines.shift();
  const record: MemoryRecord = {
    id: f.id,
    created: Date.parse(f.created),
    category: f.category,
    tags: f.tags,
    summary: f.summary,
    source: f.source,
    body: bodyLines.join('\n'),
  };
  if (f.title !== undefined) record.title = f.title;
  return { ok: true, record };
}

function fail(message: string): ParsedMemoryFile {
  return { ok: false, message };
}

/** A JSON string or array, a YAML-ish single-quoted string or list, or the plain text; undefined when unreadable. */
function parseValue(raw: string): unknown {
  const v = raw.trim();
  if (v.startsWith('"')) return tryJson(v, (x) => typeof x === 'string');
  if (v.startsWith('[')) {
    const json = tryJson(v, (x) => Array.isArray(x) && x.every((e) => typeof e === 'string'));
    if (json !== undefined) return json;
    if (!v.endsWith(']')) return undefined;
    return splitList(v.slice(1, -1));
  }
  if (v.startsWith("'")) return v.length >= 2 && v.endsWith("'") ? v.slice(1, -1).replaceAll("''", "'") : undefined;
  return v;
}

function tryJson(text: string, ok: (x: unknown) => boolean): unknown {
  try {
    const x: unknown = JSON.parse(text);
    return ok(x) ? x : undefined;
  } catch {
    return undefined;
  }
}

/** `a, 'b', "c"` → ['a', 'b', 'c'] (empty items dropped). */
function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim().replace(/^(['"])(.*)\1$/, '$2'))
    .filter((s) => s !== '');
}

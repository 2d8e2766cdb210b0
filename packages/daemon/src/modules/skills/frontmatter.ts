/**
 * The small YAML subset a `SKILL.md` frontmatter uses: `key: value` lines
 * and `key:` followed by `- item` lines (a list). Blank lines and `#`
 * comments are skipped; a value in matching single or double quotes loses
 * them. Anything else (nesting, flow lists, multi-line strings, a key given
 * twice) is refused: skills are few and hand-written, and a strict reader
 * catches a typo a lenient one would pass on as a missing field.
 */
export type FrontmatterValue = string | string[];

export interface Frontmatter {
  data: Record<string, FrontmatterValue>;
  /** The markdown after the closing `---`. */
  body: string;
}

/** Split `text` into frontmatter and body. Throws an `Error` saying which line is wrong. */
export function parseFrontmatter(text: string): Frontmatter {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines[0] !== '---') throw new Error('line 1: expected --- to open the frontmatter');
  const close = lines.indexOf('---', 1);
  if (close === -1) throw new Error('no closing --- after the frontmatter');

  const data: Record<string, FrontmatterValue> = {};
  let list: string[] | null = null;
  for (let i = 1; i < close; i++) {
    const line = lines[i]!;
    const where = `line ${i + 1}`;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const item = /^\s*-\s+(.*\S)\s*$/.exec(line);
    if (item) {
      if (!list) throw new Error(`${where}: a "- item" line must follow a "key:" line`);
      list.push(unquote(item[1]!));
      continue;
    }
    const pair = /^([A-Za-z][A-Za-z0-9_-]*):(?:\s+(.*?))?\s*$/.exec(line);
    if (!pair) throw new Error(`${where}: expected "key: value", "key:" or "- item"`);
    const key = pair[1]!;
    if (Object.hasOwn(data, key)) throw new Error(`${where}: ${key} is given twice`);
    const value = pair[2];
    if (value === undefined || value === '') {
      list = [];
      data[key] = list;
    } else {
      list = null;
      data[key] = unquote(value);
    }
  }
  return { data, body: lines.slice(close + 1).join('\n') };
}

function unquote(value: string): string {
  const q = value[0];
  if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) return value.slice(1, -1);
  return value;
}

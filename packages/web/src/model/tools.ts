/**
 * How a tool call reads on the session screen: one line (the tool's key
 * argument: the command, the file, the pattern) and, for tools that edit
 * files, the before/after text to draw as a diff. Knows the input shapes of
 * the harnesses' own tools, as recorded in packages/protocol/fixtures:
 *
 * - Claude Code: Edit / MultiEdit `{file_path, old_string, new_string | edits[]}`, Write `{file_path, content}`
 * - Kimi: WriteFile `{path, content}`, StrReplaceFile `{path, edit: {old, new} | [...]}`; approval
 *   requests carry `{arguments, display: [{type: 'diff', path, old_text, new_text}]}`
 * - OpenCode: edit `{filePath, oldString, newString}`, write `{filePath, content}`, apply_patch `{patchText}`
 * - Codex: shell `{command}`; its file changes arrive as `file_change` events with no text.
 *
 * Pure; unknown tools and shapes fall back to their first short string argument.
 */

export interface FileEdit {
  path: string;
  /** `write` replaces the whole file (its old text is unknown here), `edit` replaces `before` with `after`. */
  kind: 'edit' | 'write';
  before: string;
  after: string;
}

export interface ToolView {
  /** The key argument in one line ('' when there is none). */
  subject: string;
  /** A shell command, shown as `$ command`. */
  command: string | null;
  edits: FileEdit[];
  /** A patch in the tool's own text format (OpenCode's apply_patch). */
  patch: string | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const first = (o: Obj, keys: string[]): string | null => {
  for (const k of keys) {
    const v = str(o[k]);
    if (v !== null && v !== '') return v;
  }
  return null;
};

const PATH_KEYS = ['file_path', 'filePath', 'path', 'notebook_path'];
const SUBJECT_KEYS = [
  'command',
  'cmd',
  ...PATH_KEYS,
  'pattern',
  'url',
  'query',
  'description',
  'prompt',
  'skill',
  'name',
];

/** A command given as a string or as argv. */
function commandOf(o: Obj): string | null {
  const c = o.command ?? o.cmd;
  if (typeof c === 'string') return c;
  if (Array.isArray(c) && c.every((x) => typeof x === 'string')) return c.join(' ');
  return null;
}

/** `bash -lc 'cat a'` reads as `cat a` in one line (Codex wraps every command so). */
function unwrapShell(command: string): string {
  const m = /^(?:\/usr)?(?:\/bin\/)?(?:ba|z)?sh\s+-l?c\s+(['"])([\s\S]*)\1\s*$/.exec(command.trim());
  return m ? m[2]! : command;
}

function oneLine(s: string, max = 160): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Edits a tool call makes, from its name and input; [] for tools that edit nothing. */
export function editsOf(name: string, input: unknown): FileEdit[] {
  if (!isObj(input)) return [];
  const tool = name.toLowerCase();
  const path = first(input, PATH_KEYS);
  if (path === null) return [];
  const pair = (e: unknown): FileEdit | null => {
    if (!isObj(e)) return null;
    const before = str(e.old_string) ?? str(e.oldString) ?? str(e.old) ?? str(e.old_str);
    const after = str(e.new_string) ?? str(e.newString) ?? str(e.new) ?? str(e.new_str);
    return before !== null && after !== null ? { path, kind: 'edit', before, after } : null;
  };
  if (tool === 'write' || tool === 'writefile' || tool === 'write_file' || tool === 'create') {
    const content = str(input.content) ?? str(input.file_text);
    return content === null ? [] : [{ path, kind: 'write', before: '', after: content }];
  }
  if (tool === 'edit' || tool === 'str_replace' || tool === 'str_replace_editor') {
    const e = pair(input);
    return e ? [e] : [];
  }
  if (tool === 'multiedit' || tool === 'strreplacefile') {
    const list = input.edits ?? input.edit;
    const edits = (Array.isArray(list) ? list : [list]).map(pair).filter((e): e is FileEdit => e !== null);
    return edits.length ? edits : [pair(input)].filter((e): e is FileEdit => e !== null);
  }
  return [];
}

/**
 * Diffs a Kimi approval request displays (`display: [{type: 'diff', …}]`),
 * or null when it displays none.
 */
function displayedEdits(input: Obj): FileEdit[] | null {
  if (!Array.isArray(input.display)) return null;
  const edits: FileEdit[] = [];
  for (const d of input.display) {
    if (!isObj(d) || d.type !== 'diff') continue;
    const path = str(d.path);
    const before = str(d.old_text);
    const after = str(d.new_text);
    if (path !== null && before !== null && after !== null)
      edits.push({ path, kind: before === '' ? 'write' : 'edit', before, after });
  }
  return edits.length ? edits : null;
}

/** The one-line subject and the drawable parts of a tool call. */
export function describeTool(name: string, input: unknown): ToolView {
  if (typeof input === 'string') return { subject: oneLine(input), command: null, edits: [], patch: null };
  if (!isObj(input)) return { subject: '', command: null, edits: [], patch: null };
  const edits = editsOf(name, input);
  const patch = str(input.patchText) ?? str(input.patch);
  const command = commandOf(input);
  const subject =
    (command !== null ? unwrapShell(command) : null) ?? first(input, SUBJECT_KEYS) ?? firstShortString(input) ?? '';
  return { subject: oneLine(subject), command, edits, patch };
}

/**
 * What an approval request asks for, from its tool and input: a Kimi request
 * wraps the call (`{action, description, arguments, display}`), a Claude one
 * is the tool's own input.
 */
export function describeApproval(tool: string, input: unknown): ToolView {
  if (isObj(input) && ('arguments' in input || 'display' in input)) {
    const inner = describeTool(tool, input.arguments);
    const shown = displayedEdits(input);
    const shell = Array.isArray(input.display)
      ? (input.display.find((d) => isObj(d) && d.type === 'shell') as Obj | undefined)
      : undefined;
    return {
      subject: inner.subject || oneLine(str(input.description) ?? ''),
      command: inner.command ?? (shell ? str(shell.command) : null),
      edits: shown ?? inner.edits,
      patch: inner.patch,
    };
  }
  return describeTool(tool, input);
}

function firstShortString(o: Obj): string | null {
  for (const v of Object.values(o)) if (typeof v === 'string' && v.trim() && v.length <= 300) return v;
  return null;
}

/**
 * What Fabric knows about Claude Code's built-in tools: which ones change
 * files, and how to put a tool call in one line a person can judge (the
 * approval prompt). Tool names and input fields are Claude Code's own
 * (`sdk-tools.d.ts` in @anthropic-ai/claude-code: `file_path` for Edit,
 * Write, MultiEdit and Read; `notebook_path` for NotebookEdit; `command` for
 * Bash). Pure: shared by the stream-json driver and the approval MCP server.
 */

type Input = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/** Tools whose successful call changes one file, and the input field naming it. */
const FILE_TOOLS: Readonly<Record<string, string>> = {
  Edit: 'file_path',
  MultiEdit: 'file_path',
  Write: 'file_path',
  NotebookEdit: 'notebook_path',
};

/**
 * The file a tool call changes, or null when the tool changes no file (or its
 * input names none). `Write` creates or overwrites, so its change kind is only
 * known from the result (`tool_use_result.type` is `create` or `update`).
 */
export function fileTouchedBy(tool: string, input: unknown): { path: string; tool: string } | null {
  const field = FILE_TOOLS[tool];
  if (!field || typeof input !== 'object' || input === null) return null;
  const path = str((input as Input)[field]);
  return path ? { path, tool } : null;
}

/** The one field that says what a call does, per tool; the rest fall back to compact JSON. */
const SUBJECT: Readonly<Record<string, string>> = {
  Bash: 'command',
  Edit: 'file_path',
  MultiEdit: 'file_path',
  Write: 'file_path',
  Read: 'file_path',
  NotebookEdit: 'notebook_path',
  Glob: 'pattern',
  Grep: 'pattern',
  WebFetch: 'url',
  WebSearch: 'query',
  Task: 'description',
  Agent: 'description',
  Skill: 'skill',
};

/** `Bash: rm -rf build`, `Edit: /src/a.ts`, else `Tool {"json":"input"}`; at most `max` characters. */
export function summarizeToolCall(tool: string, input: unknown, max = 300): string {
  const obj = typeof input === 'object' && input !== null ? (input as Input) : {};
  const field = SUBJECT[tool];
  const subject = field ? str(obj[field]) : null;
  let line: string;
  if (subject) line = `${tool}: ${subject}`;
  else {
    let json = '';
    try {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JSON.stringify returns undefined for undefined
      json = JSON.stringify(input) ?? '';
    } catch {
      /* unserialisable input: name the tool alone */
    }
    line = json && json !== '{}' ? `${tool} ${json}` : tool;
  }
  line = line.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

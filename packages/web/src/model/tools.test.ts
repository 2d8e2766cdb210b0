import { describe, expect, it } from 'vitest';
import claudeSession from '../../../protocol/fixtures/harness/claude/session.jsonl?raw';
import kimiApprovals from '../../../protocol/fixtures/harness/kimi/wire-approvals.jsonl?raw';
import opencodePatch from '../../../protocol/fixtures/harness/opencode/run-patch.jsonl?raw';
import { describeApproval, describeTool, editsOf } from './tools.js';

/** Recorded JSON lines, read loosely: the fixtures are the schema here. */
type Json = Record<string, any>;
const jsonl = (text: string): Json[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Json);

/** Claude's tool_use blocks from the recorded session, by tool name. */
const claudeCalls = new Map(
  jsonl(claudeSession)
    .filter((l) => l.type === 'assistant')
    .flatMap((l) => (l.message.content as Json[]).filter((c) => c.type === 'tool_use'))
    .map((c) => [c.name as string, c.input as unknown]),
);

describe('describeTool on recorded Claude Code calls', () => {
  it('puts the command of a Bash call and the file of a Read call in one line', () => {
    expect(describeTool('Bash', claudeCalls.get('Bash'))).toEqual({
      subject: 'mkdir -p build && ls',
      command: 'mkdir -p build && ls',
      edits: [],
      patch: null,
    });
    expect(describeTool('Read', claudeCalls.get('Read')).subject).toBe('/home/dev/project/hello.txt');
  });

  it('reads an Edit as old → new text and a Write as a whole new file', () => {
    expect(describeTool('Edit', claudeCalls.get('Edit')).edits).toEqual([
      { path: '/home/dev/project/hello.txt', kind: 'edit', before: 'hello', after: 'hello, world' },
    ]);
    expect(describeTool('Write', claudeCalls.get('Write')).edits).toEqual([
      {
        path: '/home/dev/project/NOTES.md',
        kind: 'write',
        before: '',
        after: '# Notes\n\nhello.txt now says hello, world.\n',
      },
    ]);
  });

  it('reads every edit of a MultiEdit', () => {
    const input = {
      file_path: '/a.ts',
      edits: [
        { old_string: 'a', new_string: 'b' },
        { old_string: 'c', new_string: 'd', replace_all: true },
      ],
    };
    expect(editsOf('MultiEdit', input).map((e) => `${e.before}>${e.after}`)).toEqual(['a>b', 'c>d']);
  });
});

describe('describeTool on Kimi, OpenCode and Codex shapes', () => {
  const kimi = jsonl(kimiApprovals);
  const kimiCall = (name: string) => {
    const call = kimi.find((l) => l.params?.type === 'ToolCall' && l.params.payload.function.name === name)!;
    return JSON.parse(call.params.payload.function.arguments as string) as unknown;
  };

  it('reads Kimi WriteFile and StrReplaceFile (one edit or several)', () => {
    expect(describeTool('WriteFile', kimiCall('WriteFile')).edits).toEqual([
      {
        path: 'test_hello.py',
        kind: 'write',
        before: '',
        after: "from hello import greet\n\n\ndef test_greet():\n    assert greet() == 'hello'\n",
      },
    ]);
    expect(describeTool('Shell', kimiCall('Shell')).command).toBe('python -m pytest -q test_hello.py');
    expect(editsOf('StrReplaceFile', { path: 'a.py', edit: { old: 'x = 1', new: 'x = 2' } })).toEqual([
      { path: 'a.py', kind: 'edit', before: 'x = 1', after: 'x = 2' },
    ]);
    expect(
      editsOf('StrReplaceFile', {
        path: 'a.py',
        edit: [
          { old: 'a', new: 'b' },
          { old: 'c', new: 'd', replace_all: true },
        ],
      }),
    ).toHaveLength(2);
  });

  it('reads OpenCode edit/write and keeps an apply_patch as its patch text', () => {
    expect(editsOf('edit', { filePath: '/w/a.ts', oldString: 'a', newString: 'b' })).toEqual([
      { path: '/w/a.ts', kind: 'edit', before: 'a', after: 'b' },
    ]);
    const part = jsonl(opencodePatch).find((l) => l.part?.tool === 'apply_patch')!;
    const view = describeTool('apply_patch', part.part.state.input);
    expect(view.patch).toContain('*** Update File: README.md');
    expect(view.edits).toEqual([]);
  });

  it('joins a command given as argv, and falls back to the first short string argument', () => {
    expect(describeTool('shell', { command: ['bash', '-lc', 'ls -la'] }).subject).toBe('bash -lc ls -la');
    expect(describeTool('mcp__fabric__health', { scope: 'disk', verbose: true }).subject).toBe('disk');
    expect(describeTool('Glob', { pattern: '**/*.ts' }).subject).toBe('**/*.ts');
    expect(describeTool('x', null)).toEqual({ subject: '', command: null, edits: [], patch: null });
    expect(describeTool('x', 'not json {')).toMatchObject({ subject: 'not json {' });
    expect(describeTool('Bash', { command: 'echo a\n\necho b' }).subject).toBe('echo a echo b');
  });

  it('reads a Codex command through its shell wrapper in the one-line subject, keeping it whole to show', () => {
    expect(describeTool('shell', { command: "/bin/bash -c 'cat hello.txt'" })).toMatchObject({
      subject: 'cat hello.txt',
      command: "/bin/bash -c 'cat hello.txt'",
    });
    expect(describeTool('shell', { command: 'bash -lc "npm test && npm run build"' }).subject).toBe(
      'npm test && npm run build',
    );
    expect(describeTool('shell', { command: 'bash script.sh' }).subject).toBe('bash script.sh');
  });
});

describe('describeApproval', () => {
  const requests = jsonl(kimiApprovals)
    .filter((l) => l.params?.type === 'ApprovalRequest')
    .map((l) => l.params.payload as Json);

  it('shows the diff a Kimi file approval displays', () => {
    const req = requests.find((r) => r.sender === 'WriteFile')!;
    const input = {
      action: req.action,
      description: req.description,
      toolCallId: req.tool_call_id,
      arguments: { path: 'test_hello.py', content: 'x' },
      display: req.display,
    };
    const view = describeApproval('WriteFile', input);
    expect(view.subject).toBe('test_hello.py');
    expect(view.edits).toEqual([
      {
        path: '/home/dev/proj/test_hello.py',
        kind: 'write',
        before: '',
        after: "from hello import greet\n\n\ndef test_greet():\n    assert greet() == 'hello'\n",
      },
    ]);
  });

  it("shows the command a Kimi shell approval displays, even without the call's arguments", () => {
    const req = requests.find((r) => r.sender === 'Shell')!;
    const view = describeApproval('Shell', {
      action: req.action,
      description: req.description,
      toolCallId: req.tool_call_id,
      display: req.display,
    });
    expect(view).toMatchObject({
      subject: 'Run command `python -m pytest -q test_hello.py`',
      command: 'python -m pytest -q test_hello.py',
      edits: [],
    });
  });

  it("reads a Claude approval as the tool's own input", () => {
    expect(describeApproval('Bash', { command: 'rm -rf build' })).toMatchObject({
      subject: 'rm -rf build',
      command: 'rm -rf build',
    });
  });
});

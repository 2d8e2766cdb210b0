// Claude Code in stream-json mode. The fixtures in packages/protocol/fixtures/harness/claude/
// are stdout of the real CLI (2.1.197) run by this daemon against a mock Messages API
// (see their README.md and record/record.mjs); malformed.jsonl alone is hand-written.
// Message shapes agree with anthropics/claude-agent-sdk-python
// src/claude_agent_sdk/_internal/message_parser.py; argv with _internal/transport/subprocess_cli.py.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  sessionEventSchema,
  type PermissionMode,
  type SessionEvent,
  type SessionStartPayload,
  type Usage,
} from '@fabric/protocol';
import { harnessFixture, type Step } from '../../../../test/fake-cli/index.js';
import { cleanupsAfterEach, fakeCliRunner } from '../../../../test/harness-kit.js';
import { fabricMcpWiring } from '../../../agent/mcp/wiring.js';
import { SessionRunner } from '../../runner.js';
import { claudeHarness } from './adapter.js';
import { claudeUserLine, ClaudeStreamDriver } from './stream.js';
import type { McpWiring, PlanContext } from '../types.js';

const fixture = (name: string) => harnessFixture(`claude/${name}`);
const lines = (name: string) =>
  readFileSync(fixture(name), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
const sessionIdOf = (name: string) => (JSON.parse(lines(name)[0]!) as { session_id: string }).session_id;
const END_SESSION = { type: 'control_request', request_id: 'fabric-end-session', request: { subtype: 'end_session' } };

/** A driver over an in-memory context: what it emitted, reported and wrote. */
function drive() {
  const events: SessionEvent[] = [];
  const metas: { usage?: Usage; harnessSessionId?: string }[] = [];
  const written: Record<string, unknown>[] = [];
  const driver = new ClaudeStreamDriver({
    event: (e) => events.push(e),
    meta: (m) => metas.push(m),
    write: (data) => {
      for (const l of data.split('\n').filter(Boolean)) written.push(JSON.parse(l) as Record<string, unknown>);
    },
    requestApproval: async () => ({ decision: 'deny', reason: 'the stream-json driver never asks itself' }),
  });
  const feed = (ls: string[]) => {
    for (const l of ls) driver.line(l);
  };
  const usages = () => metas.flatMap((m) => (m.usage ? [m.usage] : []));
  return { driver, feed, events, metas, written, usages };
}

const echo = (content: string, uuid: string) =>
  JSON.stringify({
    type: 'user',
    message: { role: 'user', content },
    session_id: 's1',
    parent_tool_use_id: null,
    uuid,
    isReplay: true,
  });
const result = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'result',
    subtype: 'success',
    is_error: false,
    num_turns: 1,
    duration_ms: 5,
    session_id: 's1',
    ...extra,
  });

describe('the Claude stream-json driver', () => {
  it('maps a whole recorded session: init, reasoning, text, tool calls and results, file changes, rate limit, result', () => {
    const d = drive();
    d.feed(lines('session.jsonl'));
    const sid = sessionIdOf('session.jsonl');
    const project = '/home/dev/project';
    expect(d.events).toEqual([
      {
        kind: 'status',
        status: 'init',
        harnessStatus: 'init',
        detail: 'model claude-sonnet-5, permission mode default',
      },
      {
        kind: 'reasoning',
        text: 'The user wants hello.txt changed and a NOTES.md written. First set up build/ and look at the project.',
      },
      { kind: 'text', text: "I'll set up build/ and look at the project first." },
      {
        kind: 'tool_call',
        id: 'toolu_01Bash0001',
        name: 'Bash',
        input: { command: 'mkdir -p build && ls', description: 'Create build/ and list the project' },
      },
      {
        kind: 'status',
        status: 'rate_limit',
        harnessStatus: 'allowed',
        detail: 'allowed, resets 2027-01-15T08:00:00.000Z',
      },
      { kind: 'tool_result', id: 'toolu_01Bash0001', output: 'build\nhello.txt', isError: false },
      { kind: 'tool_call', id: 'toolu_01Read0002', name: 'Read', input: { file_path: `${project}/hello.txt` } },
      { kind: 'tool_result', id: 'toolu_01Read0002', output: '1\thello\n2\t', isError: false },
      {
        kind: 'tool_call',
        id: 'toolu_01Edit0003',
        name: 'Edit',
        input: {
          replace_all: false,
          file_path: `${project}/hello.txt`,
          old_string: 'hello',
          new_string: 'hello, world',
        },
      },
      {
        kind: 'tool_result',
        id: 'toolu_01Edit0003',
        output: expect.stringContaining(`The file ${project}/hello.txt has been updated successfully.`),
        isError: false,
      },
      { kind: 'file_change', path: `${project}/hello.txt`, change: 'modify' },
      {
        kind: 'tool_call',
        id: 'toolu_01Writ0004',
        name: 'Write',
        input: { file_path: `${project}/NOTES.md`, content: '# Notes\n\nhello.txt now says hello, world.\n' },
      },
      {
        kind: 'tool_result',
        id: 'toolu_01Writ0004',
        output: expect.stringContaining(`File created successfully at: ${project}/NOTES.md`),
        isError: false,
      },
      { kind: 'file_change', path: `${project}/NOTES.md`, change: 'add' },
      { kind: 'text', text: 'Done: hello.txt now says "hello, world" and NOTES.md explains the change.' },
      {
        kind: 'status',
        status: 'turn_ended',
        harnessStatus: 'success',
        detail: expect.stringMatching(/^turns 5, \d+ ms$/),
      },
    ]);
    // Our own end_session acknowledgement is swallowed; nothing became raw.
    expect(d.events.filter((e) => e.kind === 'raw')).toEqual([]);
    expect(d.metas).toEqual([
      { harnessSessionId: sid },
      { usage: { input: 11495, output: 178, cached: 22660, costUsd: 0.048783 } },
    ]);
  });

  it("counts usage from results only: the turn's share of the process totals, never the per-message snapshots", () => {
    const d = drive();
    const ls = lines('followup.jsonl');
    d.feed(ls);
    // Two turns in one process: two reports, each that turn's share.
    expect(d.usages()).toEqual([
      { input: 7421, output: 46, cached: 5200, costUsd: 0.0477425 },
      { input: 1321, output: 8, cached: 5510, costUsd: 0.0099475 },
    ]);
    // Together they are exactly the process totals of the last result (modelUsage, total_cost_usd)…
    const last = ls
      .map((l) => JSON.parse(l) as Record<string, never>)
      .filter((j) => j.type === 'result')
      .at(-1) as unknown as {
      total_cost_usd: number;
      modelUsage: Record<
        string,
        { inputTokens: number; outputTokens: number; cacheReadInputTokens: number; cacheCreationInputTokens: number }
      >;
    };
    const m = Object.values(last.modelUsage)[0]!;
    const sum = d.usages().reduce(
      (t, u) => ({
        input: t.input + u.input,
        output: t.output + u.output,
        cached: t.cached + u.cached,
        costUsd: t.costUsd + (u.costUsd ?? 0),
      }),
      { input: 0, output: 0, cached: 0, costUsd: 0 },
    );
    expect(sum).toEqual({
      input: m.inputTokens + m.cacheCreationInputTokens,
      output: m.outputTokens,
      cached: m.cacheReadInputTokens,
      costUsd: expect.closeTo(last.total_cost_usd, 9),
    });
    // …while the assistant lines' usage (message_start snapshots, output_tokens 1, repeated per block) would say otherwise.
    const snapshotOutput = ls
      .map((l) => JSON.parse(l) as { type: string; message?: { usage?: { output_tokens: number } } })
      .filter((j) => j.type === 'assistant')
      .reduce((t, j) => t + (j.message?.usage?.output_tokens ?? 0), 0);
    expect(snapshotOutput).not.toBe(sum.output);

    // A resumed process counts from zero again.
    const r = drive();
    r.feed(lines('resumed.jsonl'));
    expect(r.usages()).toEqual([{ input: 1358, output: 6, cached: 5820, costUsd: 0.0102375 }]);
    expect(r.metas[0]).toEqual({ harnessSessionId: sessionIdOf('followup.jsonl') });
  });

  it("falls back on a result's own usage when it has no modelUsage, and reports nothing for an empty turn", () => {
    const d = drive();
    d.feed([
      result({
        usage: { input_tokens: 10, output_tokens: 20, cache_creation_input_tokens: 5, cache_read_input_tokens: 100 },
        total_cost_usd: 0.5,
      }),
      result({
        usage: { input_tokens: 1, output_tokens: 2, cache_creation_input_tokens: 0, cache_read_input_tokens: 3 },
        total_cost_usd: 0.75,
      }),
      result({ usage: { input_tokens: 0, output_tokens: 0 }, total_cost_usd: 0.75, modelUsage: {} }),
    ]);
    expect(d.usages()).toEqual([
      { input: 15, output: 20, cached: 100, costUsd: 0.5 },
      { input: 1, output: 2, cached: 3, costUsd: 0.25 },
    ]);
  });

  it('reports a denied tool as an error result and the denial, with no file change', () => {
    const d = drive();
    d.feed(lines('denied.jsonl'));
    expect(d.events.filter((e) => e.kind !== 'status')).toEqual([
      {
        kind: 'tool_call',
        id: 'toolu_01Bash0101',
        name: 'Bash',
        input: { command: 'rm -rf build', description: 'Remove the build directory' },
      },
      { kind: 'tool_result', id: 'toolu_01Bash0101', output: 'denied: not on this machine', isError: true },
      { kind: 'text', text: 'Understood: I left build/ in place.' },
    ]);
    expect(d.events).toContainEqual({ kind: 'status', status: 'permission_denied', detail: 'Bash' });
  });

  it('records file changes only for file tools that succeeded', () => {
    const d = drive();
    d.feed(lines('auto-edit.jsonl'));
    expect(d.events.filter((e) => e.kind === 'file_change')).toEqual([
      { kind: 'file_change', path: '/home/dev/project/hello.txt', change: 'modify' },
    ]);
    expect(d.events).toContainEqual({
      kind: 'tool_result',
      id: 'toolu_01Bash0203',
      output: "Exit code 2\nmake: *** No rule to make target 'check'.  Stop.",
      isError: true,
    });
    expect(d.events[0]).toEqual({
      kind: 'status',
      status: 'init',
      harnessStatus: 'init',
      detail: 'model claude-opus-4-8[1m], permission mode acceptEdits',
    });
  });

  it('turns failed turns into one error each: API refusals, no login, a conversation that is not there', () => {
    for (const [name, message] of [
      ['error-api.jsonl', /^Prompt is too long/],
      ['error-auth.jsonl', /^Not logged in/],
      ['error-resume.jsonl', /^No conversation found with session ID: 0b7d3c1e-2f4a-4d5b-9c6e-7f8a9b0c1d2e$/],
    ] as const) {
      const d = drive();
      d.feed(lines(name));
      expect(
        d.events.filter((e) => e.kind === 'error'),
        name,
      ).toEqual([{ kind: 'error', message: expect.stringMatching(message) }]);
      expect(
        d.events.filter((e) => e.kind === 'text' || e.kind === 'raw'),
        name,
      ).toEqual([]);
      expect(d.usages(), name).toEqual([]); // all-zero usage is not reported
    }
  });

  it('reads a bare error line as an error, and keeps an unreadable one raw', () => {
    const d = drive();
    d.feed([
      '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
      '{"type":"error","code":7}',
    ]);
    expect(d.events).toEqual([
      { kind: 'error', message: 'Overloaded' },
      { kind: 'raw', line: '{"type":"error","code":7}' },
    ]);
  });

  it('notes API retries, ignores partial-message deltas and reasoning estimates (the whole message follows)', () => {
    const retry = drive();
    retry.feed(lines('retry.jsonl'));
    expect(retry.events).toContainEqual({
      kind: 'status',
      status: 'retrying',
      harnessStatus: 'api_retry',
      detail: 'attempt 1 of 2, 529, overloaded',
    });
    const partial = drive();
    partial.feed(lines('partial-messages.jsonl'));
    expect(lines('partial-messages.jsonl').filter((l) => l.includes('"stream_event"')).length).toBeGreaterThan(5);
    expect(partial.events.filter((e) => e.kind === 'text' || e.kind === 'reasoning' || e.kind === 'raw')).toEqual([
      { kind: 'reasoning', text: 'A greeting.' },
      { kind: 'text', text: 'Hi there!' },
    ]);
  });

  it('turns every line it cannot read into a raw event holding that line', () => {
    const d = drive();
    const ls = lines('malformed.jsonl');
    d.feed(ls);
    expect(d.events).toEqual(ls.map((line) => ({ kind: 'raw', line })));
    expect(d.metas).toEqual([]);
  });

  it('never throws, and every event it emits is a valid session event, whatever the line', () => {
    const all = readdirSync(fixture(''))
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => lines(f));
    const d = drive();
    const mangled = all.flatMap((l) => [
      l,
      l.slice(0, Math.floor(l.length / 2)),
      l.replace(/"[a-z_]+":/g, '"x":'),
      l.replaceAll('"', "'"),
    ]);
    const odd = [
      '',
      'null',
      '42',
      '"str"',
      '{}',
      '{"type":null}',
      '{"type":"assistant"}',
      '{"type":"assistant","message":{"content":[null,1,"x",{"type":"tool_use"}]}}',
      '{"type":"user","message":{"content":[{"type":"tool_result"}]}}',
      '{"type":"result"}',
      '{"type":"system"}',
      '{"type":"rate_limit_event","rate_limit_info":{}}',
      '{"type":"system","subtype":"init","session_id":""}',
      `{"type":"assistant","message":{"content":[{"type":"text","text":"${'x'.repeat(100_000)}"}]}}`,
    ];
    expect(() => d.feed([...mangled, ...odd])).not.toThrow();
    // Each in the current shape: reading it back changes nothing.
    for (const e of d.events) expect(sessionEventSchema.parse(e), JSON.stringify(e).slice(0, 200)).toEqual(e);
  });

  describe('live input and the end of a process', () => {
    it('ends the process once a result leaves nothing of ours untaken, then refuses input so the runner queues it', () => {
      const d = drive();
      d.feed([echo('the first prompt', 'plan-uuid'), result()]);
      expect(d.written).toEqual([END_SESSION]);
      expect(d.driver.input('too late')).toBe(false);
      expect(d.written).toEqual([END_SESSION]);
      d.feed([result()]);
      expect(d.written).toEqual([END_SESSION]); // once
    });

    it('writes live input as a stream-json user line and waits for the turn that takes it', () => {
      const d = drive();
      d.feed([echo('the first prompt', 'plan-uuid')]);
      expect(d.driver.input('also run the tests')).toBe(true);
      const sent = d.written[0] as { type: string; message: unknown; uuid: string };
      expect(sent).toEqual({
        type: 'user',
        message: { role: 'user', content: 'also run the tests' },
        parent_tool_use_id: null,
        session_id: 'default',
        uuid: expect.any(String),
      });
      // The result of the first turn arrives before the CLI took our message in: not the end.
      d.feed([result()]);
      expect(d.written).toHaveLength(1);
      // The CLI takes it in (a new turn, or folded into the running one), then finishes.
      d.feed([echo('also run the tests', sent.uuid)]);
      expect(d.events.at(-1)).toEqual({ kind: 'status', status: 'input_taken', detail: 'also run the tests' });
      d.feed([result()]);
      expect(d.written.at(-1)).toEqual(END_SESSION);
    });

    it('without echoes (a CLI that does not replay input) goes by what was written since the last result', () => {
      const d = drive();
      expect(d.driver.input('more')).toBe(true);
      d.feed([result()]);
      expect(d.written).toHaveLength(1);
      d.feed([result()]);
      expect(d.written.at(-1)).toEqual(END_SESSION);
    });

    it('swallows the acknowledgement of its own end_session only', () => {
      const d = drive();
      d.feed(['{"type":"control_response","response":{"subtype":"success","request_id":"fabric-end-session"}}']);
      expect(d.events).toEqual([]);
    });
  });
});

// ---- plan ------------------------------------------------------------------

const wiring: McpWiring = fabricMcpWiring('/data/agent.sock', 'ses_plan', 'tok-secret-123');
function plan(start: Partial<SessionStartPayload> = {}, ctx: Partial<PlanContext> = {}) {
  return claudeHarness.plan(
    {
      sessionId: 'ses_plan',
      harness: 'claude',
      prompt: 'fix the bug',
      cwd: null,
      labels: {},
      permissionMode: 'ask',
      resume: null,
      model: null,
      ...start,
    },
    {
      allowlist: [],
      baseEnv: { PATH: '/usr/bin', HOME: '/home/dev' },
      credentials: { ANTHROPIC_API_KEY: 'sk-ant-secret' },
      mcp: wiring,
      ...ctx,
    },
  );
}
const flagValue = (args: string[], flag: string) => {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
};

describe('claudeHarness.plan', () => {
  it('runs print mode with stream-json both ways; the prompt is the first stdin message and stdin stays open', () => {
    const p = plan();
    expect(p.command).toBe('claude');
    expect(p.args.slice(0, 7)).toEqual([
      '-p',
      '--output-format',
      'stream-json',
      '--input-format',
      'stream-json',
      '--verbose',
      '--replay-user-messages',
    ]);
    expect(p.args).not.toContain('fix the bug');
    expect(JSON.parse(p.stdin!)).toMatchObject({
      type: 'user',
      message: { role: 'user', content: 'fix the bug' },
      parent_tool_use_id: null,
    });
    expect(p.stdin!.endsWith('\n')).toBe(true);
    expect(p.closeStdin).toBeFalsy();
  });

  it("maps each permission mode, routing asks to the daemon's approval tool when there is one", () => {
    const modes: Record<PermissionMode, { mode: string; tool: boolean }> = {
      ask: { mode: 'default', tool: true },
      'auto-edit': { mode: 'acceptEdits', tool: true },
      full: { mode: 'bypassPermissions', tool: false },
    };
    for (const [permissionMode, want] of Object.entries(modes) as [PermissionMode, { mode: string; tool: boolean }][]) {
      const p = plan({ permissionMode });
      expect(flagValue(p.args, '--permission-mode'), permissionMode).toBe(want.mode);
      expect(flagValue(p.args, '--permission-prompt-tool'), permissionMode).toBe(
        want.tool ? 'mcp__fabric__approve' : undefined,
      );
      const noMcp = plan({ permissionMode }, { mcp: null });
      expect(flagValue(noMcp.args, '--permission-mode')).toBe(want.mode);
      expect(noMcp.args).not.toContain('--permission-prompt-tool');
      expect(noMcp.args).not.toContain('--mcp-config');
    }
  });

  it("registers the daemon's MCP server with variable names only; secrets travel in env, never argv", () => {
    const p = plan();
    expect(JSON.parse(flagValue(p.args, '--mcp-config')!)).toEqual({
      mcpServers: {
        fabric: {
          type: 'stdio',
          command: wiring.command,
          args: wiring.args,
          env: {
            FABRIC_AGENT_SOCKET: '${FABRIC_AGENT_SOCKET}',
            FABRIC_SESSION_ID: '${FABRIC_SESSION_ID}',
            FABRIC_SESSION_TOKEN: '${FABRIC_SESSION_TOKEN}',
          },
        },
      },
    });
    expect(p.env).toMatchObject({
      ...wiring.env,
      ANTHROPIC_API_KEY: 'sk-ant-secret',
      PATH: '/usr/bin',
      HOME: '/home/dev',
    });
    const argv = p.args.join(' ');
    expect(argv).not.toContain('tok-secret-123');
    expect(argv).not.toContain('sk-ant-secret');
  });

  it('resumes and picks a model with --flag=value, so a value can never pass for a flag', () => {
    const p = plan({ resume: '6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f', model: 'sonnet' });
    expect(p.args).toContain('--resume=6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f');
    expect(p.args).toContain('--model=sonnet');
    expect(plan({ resume: '--dangerously-skip-permissions' }).args).toContain(
      '--resume=--dangerously-skip-permissions',
    );
    expect(plan().args.some((a) => a.startsWith('--resume') || a.startsWith('--model'))).toBe(false);
  });
});

// ---- end to end through the SessionRunner, with a fake `claude` first on PATH ----

/**
 * Fake-CLI scenarios read stdin with `{read: n}` (n more lines than seen so far). The first
 * step runs before the fake has read anything, so `{read: 1}` first takes exactly the prompt;
 * replays never yield to stdin reads, so a later `{read: 1}` takes the next line we write.
 */
const PROMPT: Step = { read: 1 };

/** The runner's "socket": every envelope, and a way to wait for one. */
const cleanups = cleanupsAfterEach();

function setup(steps: Step[]) {
  const { runner, recorder, fake } = fakeCliRunner(
    {
      cli: 'claude',
      version: '2.1.197 (Claude Code)',
      steps,
      adapters: [claudeHarness],
      credentials: { ANTHROPIC_API_KEY: 'sk-ant-test-only' },
      runner: {
        graceMs: 300,
        mcp: (sessionId) => fabricMcpWiring('/tmp/fabric-test-agent.sock', sessionId, `token-of-${sessionId}`),
      },
    },
    cleanups,
  );
  return { runner, recorder, fake };
}

let counter = 0;
function start(runner: SessionRunner, extra: Partial<SessionStartPayload> = {}): string {
  const sessionId = `ses_claude${String(++counter).padStart(4, '0')}`;
  runner.start({
    sessionId,
    harness: 'claude',
    prompt: 'Make hello.txt say hello, world',
    cwd: null,
    labels: {},
    permissionMode: 'ask',
    resume: null,
    model: null,
    credentials: [{ name: 'ANTHROPIC_API_KEY', version: 1, ciphertext: 'sealed' }],
    ...extra,
  });
  return sessionId;
}

describe('a claude session through the SessionRunner (fake CLI)', () => {
  it('streams a recorded session: ack, events, meta (session id, usage), then exit; the prompt went in on stdin', async () => {
    // Like the real CLI: print the session, wait for the driver's end_session, exit 0.
    const { runner, recorder, fake } = setup([PROMPT, { replay: fixture('session.jsonl') }, { read: 1 }]);
    const id = start(runner);
    const exit = await recorder.next('session.exit', id);
    expect(exit.payload).toEqual({ sessionId: id, code: 0, signal: null });
    const types = recorder.types(id);
    expect(types[0]).toBe('session.ack');
    expect(types.at(-1)).toBe('session.exit');
    expect(new Set(types)).toEqual(new Set(['session.ack', 'session.event', 'session.meta', 'session.exit']));
    const sid = sessionIdOf('session.jsonl');
    const metas = recorder.envelopes.filter((e) => e.type === 'session.meta').map((e) => e.payload);
    expect(metas).toEqual([
      { sessionId: id, harnessSessionId: sid },
      { sessionId: id, usage: { input: 11495, output: 178, cached: 22660, costUsd: 0.048783 } },
    ]);
    const kinds = recorder.events(id).map((e) => e.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['status', 'reasoning', 'text', 'tool_call', 'tool_result', 'file_change']),
    );
    expect(kinds).not.toContain('raw');
    // The harness session id travels once, as metadata, never as a stream event.
    expect(kinds).not.toContain('harness_session');

    const [call] = fake.calls();
    expect(call!.stdin.map((l) => JSON.parse(l))).toEqual([
      {
        type: 'user',
        message: { role: 'user', content: 'Make hello.txt say hello, world' },
        parent_tool_use_id: null,
        session_id: 'default',
        uuid: expect.any(String),
      },
      END_SESSION,
    ]);
    // Credentials and the agent token are in the environment, not in argv.
    expect(call!.env).toMatchObject({
      ANTHROPIC_API_KEY: 'sk-ant-test-only',
      FABRIC_SESSION_TOKEN: `token-of-${id}`,
      FABRIC_SESSION_ID: id,
    });
    expect(call!.argv.join(' ')).not.toMatch(/sk-ant-test-only|token-of-/);
  });

  it('writes follow-up input live as another stream-json line', async () => {
    const followup = fixture('followup.jsonl');
    const { runner, recorder, fake } = setup([
      PROMPT,
      { replay: followup, from: 0, to: 4 },
      { read: 1 },
      { replay: followup, from: 4 },
    ]);
    recorder.onEmit = (env) => {
      if (env.type === 'session.event' && env.payload.event.kind === 'tool_call')
        runner.input(id, 'also run the tests', false);
    };
    const id = start(runner, { prompt: 'Build the project' });
    expect((await recorder.next('session.exit', id)).payload.code).toBe(0);
    const stdin = fake.calls()[0]!.stdin.map((l) => JSON.parse(l) as { message?: { content: string } });
    expect(stdin.map((m) => m.message?.content)).toEqual(['Build the project', 'also run the tests']);
    expect(recorder.events(id)).not.toContainEqual(expect.objectContaining({ status: 'input_queued' }));
    expect(fake.calls()).toHaveLength(1);
  });

  it('queues input that arrives after the turn ended and resumes the conversation with it', async () => {
    const sid = sessionIdOf('session.jsonl');
    const { runner, recorder, fake } = setup([
      PROMPT,
      { when: `--resume=${sid}`, steps: [{ replay: fixture('resumed.jsonl') }, { read: 1 }, { exit: 0 }] },
      { replay: fixture('session.jsonl') },
      { read: 1 },
      { gate: 'input-sent' },
    ]);
    let sent = false;
    recorder.onEmit = (env) => {
      // After the result the driver has ended the process: this input cannot go in live.
      if (
        !sent &&
        env.type === 'session.event' &&
        env.payload.event.kind === 'status' &&
        env.payload.event.status === 'turn_ended'
      ) {
        sent = true;
        setTimeout(() => {
          runner.input(id, 'did it work?', false);
          fake.open('input-sent'); // only now may the first turn's process exit
        }, 0);
      }
    };
    const id = start(runner);
    expect((await recorder.next('session.exit', id)).payload.code).toBe(0);
    const calls = fake.calls();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.argv).toContain(`--resume=${sid}`);
    expect(JSON.parse(calls[1]!.stdin[0]!)).toMatchObject({ type: 'user', message: { content: 'did it work?' } });
    const statuses = recorder
      .events(id)
      .filter((e) => e.kind === 'status')
      .map((e) => (e as { status: string }).status);
    expect(statuses).toEqual(expect.arrayContaining(['input_queued', 'turn_started']));
    expect(statuses.indexOf('input_queued')).toBeLessThan(statuses.indexOf('turn_started'));
  });

  it('cancels with SIGINT', async () => {
    const { runner, recorder } = setup([PROMPT, { replay: fixture('session.jsonl'), to: 3 }, { sleep: 10_000 }]);
    const id = start(runner);
    await recorder.next('session.meta', id);
    await runner.cancel(id);
    expect((await recorder.next('session.exit', id)).payload).toEqual({ sessionId: id, code: null, signal: 'SIGINT' });
  });

  it('passes --resume=<id> for a resumed session and the flags of each permission mode', async () => {
    const { runner, recorder, fake } = setup([PROMPT, { replay: fixture('resumed.jsonl') }, { read: 1 }]);
    const resumeId = sessionIdOf('resumed.jsonl');
    const ids = [
      start(runner, { resume: resumeId }),
      start(runner, { permissionMode: 'auto-edit' }),
      start(runner, { permissionMode: 'full' }),
    ];
    for (const id of ids) expect((await recorder.next('session.exit', id)).payload.code).toBe(0);
    const argvs = fake.calls().map((c) => c.argv);
    const byMode = (mode: string) => argvs.find((a) => flagValue(a, '--permission-mode') === mode)!;
    expect(byMode('default')).toContain(`--resume=${resumeId}`);
    expect(flagValue(byMode('default'), '--permission-prompt-tool')).toBe('mcp__fabric__approve');
    expect(flagValue(byMode('acceptEdits'), '--permission-prompt-tool')).toBe('mcp__fabric__approve');
    expect(byMode('bypassPermissions')).not.toContain('--permission-prompt-tool');
    for (const a of argvs) expect(a).toContain('--mcp-config');
  });
});

it('claudeUserLine is one JSON line', () => {
  expect(claudeUserLine('a\nb', 'u1')).toBe(
    '{"type":"user","message":{"role":"user","content":"a\\nb"},"parent_tool_use_id":null,"session_id":"default","uuid":"u1"}\n',
  );
});

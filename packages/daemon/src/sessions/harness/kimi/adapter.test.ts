// Kimi CLI wire mode. The fixtures in packages/protocol/fixtures/harness/kimi/
// are lines `kimi --wire` prints, shaped after MoonshotAI/kimi-cli (1.49.0, wire protocol 1.10):
//   docs/en/customization/wire-mode.md       JSON-RPC envelopes; initialize/prompt/steer/cancel; event and
//                                            request params {type, payload}; ApprovalRequest and its
//                                            ApprovalResponse result {request_id, response, feedback?};
//                                            QuestionRequest -> {request_id, answers}
//   src/kimi_cli/wire/jsonrpc.py             message classes (string ids, `data: null` in errors), error
//                                            codes -32000 (invalid state) .. -32003, -32700 with id null
//   src/kimi_cli/wire/server.py              initialize result, prompt result {status}, steer -> "steered",
//                                            approval request id = its payload id, stdin EOF ends the server
//   src/kimi_cli/wire/types.py, packages/kosong/src/kosong/{message.py,chat_provider/__init__.py}
//                                            TurnBegin/StepBegin/ContentPart(text|think)/ToolCall/ToolCallPart/
//                                            ToolResult/StatusUpdate.token_usage{input_other, output,
//                                            input_cache_read, input_cache_creation}/TurnEnd/SteerInput/...
//   tests_e2e/test_wire_approvals_tools.py   the order of a real approve/reject turn and its payloads
//   src/kimi_cli/tools/{shell,file/write,file/read}.py, tools/file/__init__.py
//                                            "run command" / "edit file" actions, descriptions, messages
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sessionEventSchema, type PermissionMode, type SessionEvent, type SessionStartPayload } from '@fabric/protocol';
import { harnessFixture, installFakeCli, type FakeCli, type Step } from '../../../../test/fake-cli/index.js';
import { cleanupsAfterEach, fakeCliRunner } from '../../../../test/harness-kit.js';
import { kimiHarness } from './adapter.js';
import { kimiWireIds } from './protocol.js';
import { createKimiWireDriver, type KimiDriverContext } from './wire.js';
import type { ApprovalDecision, ApprovalRequest } from '../types.js';

const fixture = (name: string) => harnessFixture(`kimi/${name}`);
const lines = (name: string) =>
  readFileSync(fixture(name), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
const tick = () => new Promise((resolve) => setImmediate(resolve));
const initResponse = (mode: PermissionMode, kimiSessionId: string) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id: kimiWireIds.initialize(mode, kimiSessionId),
    result: { protocol_version: '1.10', server: { name: 'Kimi Code CLI', version: '1.49.0' }, slash_commands: [] },
  });

/** A driver over an in-memory context: what it emitted, wrote and asked. */
function drive(opts: { decide?: (req: ApprovalRequest) => Promise<ApprovalDecision>; closable?: boolean } = {}) {
  const events: SessionEvent[] = [];
  const metas: Record<string, unknown>[] = [];
  const written: Record<string, unknown>[] = [];
  const asked: ApprovalRequest[] = [];
  let closed = 0;
  const ctx: KimiDriverContext = {
    event: (e) => events.push(e),
    meta: (m) => metas.push(m),
    write: (data) => {
      for (const l of data.split('\n').filter(Boolean)) written.push(JSON.parse(l) as Record<string, unknown>);
    },
    requestApproval: (req) => {
      asked.push(req);
      return opts.decide?.(req) ?? Promise.resolve({ decision: 'allow' });
    },
    ...(opts.closable
      ? {
          closeStdin: () => {
            closed++;
          },
        }
      : {}),
  };
  const driver = createKimiWireDriver(ctx);
  const feed = (ls: string[]) => {
    for (const l of ls) driver.line(l);
  };
  return { driver, feed, events, metas, written, asked, closed: () => closed };
}

describe('the Kimi wire driver', () => {
  it('maps a whole turn: reasoning, text, a streamed tool call and its result, usage per step, the turn end', () => {
    const d = drive();
    d.feed(lines('wire-turn.jsonl'));
    expect(d.events).toEqual([
      { kind: 'status', status: 'turn_started', harnessStatus: 'TurnBegin' },
      { kind: 'reasoning', text: 'The user wants a greeting. I should read hello.py first.' },
      { kind: 'text', text: 'Let me look at the file first.' },
      { kind: 'tool_call', id: 'ReadFile:0', name: 'ReadFile', input: { path: 'hello.py' } },
      { kind: 'tool_result', id: 'ReadFile:0', output: "     1\tprint('hi')\n", isError: false },
      { kind: 'text', text: "`hello.py` prints `hi`. Change it to `print('hello, world')` to greet properly." },
      { kind: 'status', status: 'turn_ended', harnessStatus: 'TurnEnd' },
    ]);
    // Usage is per step (a delta); input counts cache creation, cached counts cache reads.
    expect(d.metas).toEqual([
      { harnessSessionId: 'fabric-ses_kimiFixture01' },
      { usage: { input: 1200, output: 85, cached: 2048 } },
      { usage: { input: 326, output: 42, cached: 3200 } },
    ]);
    expect(d.written).toEqual([]);
  });

  it('asks the owner about every approval until initialize says otherwise, answering in ApprovalResponse shape', async () => {
    const d = drive({
      decide: async (req) => (req.tool === 'Shell' ? { decision: 'deny', reason: 'not now' } : { decision: 'allow' }),
    });
    const [, ...turn] = lines('wire-approvals.jsonl'); // no initialize response: the mode is unknown, so "ask"
    d.feed(turn);
    await tick();
    expect(d.asked).toEqual([
      {
        tool: 'WriteFile',
        summary: 'WriteFile: Write file `/home/dev/proj/test_hello.py`',
        input: {
          action: 'edit file',
          description: 'Write file `/home/dev/proj/test_hello.py`',
          toolCallId: 'WriteFile:1',
          arguments: { path: 'test_hello.py', content: expect.stringContaining('def test_greet') },
          display: [expect.objectContaining({ type: 'diff', path: '/home/dev/proj/test_hello.py' })],
        },
      },
      expect.objectContaining({ tool: 'Shell', summary: 'Shell: Run command `python -m pytest -q test_hello.py`' }),
    ]);
    expect(d.written).toEqual([
      {
        jsonrpc: '2.0',
        id: '0d4bb9a2-6f1e-4c55-8a0e-1d9e7c3b2a10',
        result: { request_id: '0d4bb9a2-6f1e-4c55-8a0e-1d9e7c3b2a10', response: 'approve' },
      },
      {
        jsonrpc: '2.0',
        id: '7e21c4d8-3b9f-4a6c-b2e5-90f1d3a8c4b7',
        result: { request_id: '7e21c4d8-3b9f-4a6c-b2e5-90f1d3a8c4b7', response: 'reject', feedback: 'not now' },
      },
    ]);
  });

  it('in auto-edit mode approves edits inside the workspace itself and still asks about the shell', async () => {
    const d = drive();
    d.feed(lines('wire-approvals.jsonl')); // its initialize id says auto-edit
    await tick();
    expect(d.asked.map((r) => r.tool)).toEqual(['Shell']);
    expect(d.events).toContainEqual({
      kind: 'status',
      status: 'auto_answered',
      harnessStatus: 'ApprovalRequest',
      detail: 'WriteFile: Write file `/home/dev/proj/test_hello.py`',
    });
    expect(d.written.map((w) => (w.result as { response: string }).response)).toEqual(['approve', 'approve']);
  });

  it('in full mode approves everything without asking, and denies when asking fails', async () => {
    const approvalLines = lines('wire-approvals.jsonl').filter((l) => l.includes('"ApprovalRequest"'));
    const full = drive();
    full.feed([initResponse('full', 'k1'), ...approvalLines]);
    await tick();
    expect(full.asked).toEqual([]);
    expect(full.written.map((w) => (w.result as { response: string }).response)).toEqual(['approve', 'approve']);

    const broken = drive({ decide: () => Promise.reject(new Error('transport down')) });
    broken.feed(approvalLines.slice(1));
    await tick();
    expect(broken.written).toEqual([
      expect.objectContaining({
        result: expect.objectContaining({ response: 'reject', feedback: 'the approval could not be asked' }),
      }),
    ]);
  });

  it('steers a running turn and sends a new prompt once it has answered', () => {
    const d = drive();
    const steer = lines('wire-steer.jsonl');
    d.feed(steer.slice(0, 5));
    expect(d.driver.input('Use Python instead')).toBe(true);
    d.feed(steer.slice(5, 12)); // steer answered, SteerInput, the turn ends, prompt:0 answers
    expect(d.driver.input('Now add a docstring')).toBe(true);
    d.feed(steer.slice(12));
    expect(d.written).toEqual([
      { jsonrpc: '2.0', id: 'fabric:steer:1', method: 'steer', params: { user_input: 'Use Python instead' } },
      { jsonrpc: '2.0', id: 'fabric:prompt:2', method: 'prompt', params: { user_input: 'Now add a docstring' } },
    ]);
    expect(d.events).toContainEqual({
      kind: 'status',
      status: 'input_taken',
      harnessStatus: 'SteerInput',
      detail: 'Use Python instead',
    });
    expect(d.events.filter((e) => e.kind === 'status' && e.status === 'turn_ended')).toHaveLength(2);
    expect(d.metas.filter((m) => m.usage)).toHaveLength(3);
  });

  it('closes stdin when the last turn has answered, then leaves input to a resumed turn', () => {
    const d = drive({ closable: true });
    const turn = lines('wire-turn.jsonl');
    d.feed(turn.slice(0, -1));
    expect(d.closed()).toBe(0);
    d.feed(turn.slice(-1)); // {"id":"fabric:prompt:0","result":{"status":"finished"}}
    expect(d.closed()).toBe(1);
    expect(d.driver.input('one more thing')).toBe(false);
    expect(d.written).toEqual([]);
  });

  it('keeps stdin open when the runner cannot close it, so input after the turn is a new prompt', () => {
    const d = drive();
    d.feed(lines('wire-turn.jsonl'));
    expect(d.driver.input('again')).toBe(true);
    expect(d.written).toEqual([
      { jsonrpc: '2.0', id: 'fabric:prompt:1', method: 'prompt', params: { user_input: 'again' } },
    ]);
  });

  it('reports Kimi errors, and turns a steer that missed its turn into the next prompt', () => {
    const d = drive({ closable: true });
    const errors = lines('wire-errors.jsonl');
    d.feed(errors.slice(0, 5));
    d.driver.input('also check the README');
    d.feed(errors.slice(5));
    expect(d.events).toEqual([
      { kind: 'status', status: 'turn_started', harnessStatus: 'TurnBegin' },
      {
        kind: 'status',
        status: 'retrying',
        harnessStatus: 'StepRetry',
        detail: 'step 1: APIStatusError; attempt 2 of 3 in 2s',
      },
      { kind: 'status', status: 'interrupted', harnessStatus: 'StepInterrupted' },
      { kind: 'error', message: expect.stringMatching(/^kimi: Error code: 401 .*Invalid Authentication.*\(-32003\)$/) },
      { kind: 'error', message: 'kimi: Invalid JSON format (-32700)' },
    ]);
    expect(d.written).toEqual([
      { jsonrpc: '2.0', id: 'fabric:steer:1', method: 'steer', params: { user_input: 'also check the README' } },
      { jsonrpc: '2.0', id: 'fabric:prompt:2', method: 'prompt', params: { user_input: 'also check the README' } },
    ]);
    expect(d.closed()).toBe(0); // the retried prompt is a turn still to come
  });

  it('handles the rarer events and requests, and keeps every line it cannot map as raw', () => {
    const d = drive();
    const misc = lines('wire-misc.jsonl');
    d.feed(misc);
    const raw = d.events.filter((e) => e.kind === 'raw').map((e) => (e as { line: string }).line);
    expect(raw).toEqual([
      misc[8], // SubagentEvent
      misc[9], // an image ContentPart
      misc[13], // an event type newer than this adapter
      misc[17], // an ApprovalRequest without its fields
      misc[18], // a request type we do not know
      misc[19], // a truncated line
      misc[20], // not JSON
      misc[21], // a ToolCallPart with no ToolCall before it
      misc[22], // JSON that is not JSON-RPC
    ]);
    expect(d.events.filter((e) => e.kind !== 'raw')).toEqual([
      { kind: 'status', status: 'compacting', harnessStatus: 'CompactionBegin' },
      {
        kind: 'status',
        status: 'notification',
        harnessStatus: 'Notification',
        detail: 'Background task finished: npm test exited with code 0',
      },
      { kind: 'text', text: '# Plan\n1. Read hello.py\n2. Add greet()' },
      { kind: 'tool_result', id: 'Shell:9', output: 'line one\n[image_url]', isError: false },
      { kind: 'tool_result', id: 'Shell:10', output: expect.stringContaining('rejected by the user'), isError: true },
      {
        kind: 'status',
        status: 'auto_answered',
        harnessStatus: 'QuestionRequest',
        detail: 'Which language should I use?',
      },
    ]);
    expect(d.written).toEqual([
      { jsonrpc: '2.0', id: 'q-5f1e', result: { request_id: 'q-5f1e', answers: {} } },
      { jsonrpc: '2.0', id: 'h-0c2d', result: { request_id: 'h-0c2d', action: 'allow', reason: '' } },
      { jsonrpc: '2.0', id: 'ext-77', error: { code: -32601, message: 'fabric registers no external tools' } },
      {
        jsonrpc: '2.0',
        id: 'bad-approval',
        error: { code: -32602, message: 'fabric cannot handle this request (ApprovalRequest)' },
      },
      {
        jsonrpc: '2.0',
        id: 'odd-1',
        error: { code: -32601, message: 'fabric cannot handle this request (SomeNewRequest)' },
      },
    ]);
  });

  it('never throws, and everything it emits is a valid session event', () => {
    const d = drive();
    const garbage = [
      '',
      'null',
      '[]',
      '42',
      '"str"',
      '{',
      '{"jsonrpc":"2.0"}',
      '{"jsonrpc":"2.0","method":"event","params":null}',
      '{"jsonrpc":"2.0","method":"event","params":{"type":"ToolResult","payload":{"tool_call_id":1}}}',
      '{"jsonrpc":"2.0","method":"event","params":{"type":"StatusUpdate","payload":{"token_usage":{"input_other":-1,"output":0}}}}',
      '{"jsonrpc":"2.0","method":"request","id":7,"params":{"type":"ApprovalRequest","payload":{}}}',
      '{"jsonrpc":"2.0","id":"fabric:prompt:99","result":{"status":"finished"}}',
      '\u0000\uffff',
    ];
    for (const name of [
      'wire-turn.jsonl',
      'wire-approvals.jsonl',
      'wire-steer.jsonl',
      'wire-errors.jsonl',
      'wire-misc.jsonl',
    ]) {
      expect(() => d.feed([...lines(name), ...garbage])).not.toThrow();
    }
    d.driver.end();
    expect(d.events.length).toBeGreaterThan(0);
    // Each in the current shape: reading it back changes nothing.
    for (const e of d.events) expect(sessionEventSchema.parse(e)).toEqual(e);
  });

  it('emits text still buffered when stdout ends', () => {
    const d = drive();
    d.feed(lines('wire-turn.jsonl').slice(1, 7));
    expect(d.events.map((e) => e.kind)).toEqual(['status', 'reasoning']);
    d.driver.end();
    expect(d.events.at(-1)).toEqual({ kind: 'text', text: 'Let me look at the file first.' });
  });
});

describe('the Kimi adapter', () => {
  const start = (extra: Partial<SessionStartPayload> = {}): SessionStartPayload => ({
    sessionId: 'ses_kimiPlan0001',
    harness: 'kimi',
    prompt: 'fix the tests',
    cwd: null,
    labels: {},
    permissionMode: 'ask',
    resume: null,
    model: null,
    ...extra,
  });
  const ctx = {
    allowlist: [],
    baseEnv: { PATH: '/usr/bin' },
    credentials: { KIMI_API_KEY: 'sk-kimi-secret' },
    mcp: null,
  };

  it('plans wire mode with a Fabric-chosen session id, initialize then prompt on stdin, and stdin left open', () => {
    const plan = kimiHarness.plan(start(), ctx);
    expect(plan.command).toBe('kimi');
    expect(plan.args).toEqual(['--wire', '--session', 'fabric-ses_kimiPlan0001']);
    expect(plan.closeStdin).toBeFalsy();
    expect(plan.env).toEqual({ PATH: '/usr/bin', KIMI_API_KEY: 'sk-kimi-secret' });
    const [init, prompt, ...rest] = plan.stdin!.split('\n');
    expect(rest).toEqual(['']);
    expect(JSON.parse(init!)).toEqual({
      jsonrpc: '2.0',
      id: 'fabric:initialize:ask:fabric-ses_kimiPlan0001',
      method: 'initialize',
      params: {
        protocol_version: '1.10',
        client: { name: 'fabric', version: expect.any(String) },
        capabilities: { supports_question: false, supports_plan_mode: false },
      },
    });
    expect(JSON.parse(prompt!)).toEqual({
      jsonrpc: '2.0',
      id: 'fabric:prompt:0',
      method: 'prompt',
      params: { user_input: 'fix the tests' },
    });
  });

  it('resumes with --session, picks a model alias, and auto-approves with --yolo in full mode; secrets stay out of argv', () => {
    const plan = kimiHarness.plan(start({ resume: '3f6c0d1e-kimi', model: 'kimi-k2', permissionMode: 'full' }), ctx);
    expect(plan.args).toEqual(['--wire', '--session', '3f6c0d1e-kimi', '--model', 'kimi-k2', '--yolo']);
    expect(JSON.parse(plan.stdin!.split('\n')[0]!).id).toBe('fabric:initialize:full:3f6c0d1e-kimi');
    expect(plan.args.join(' ')).not.toContain('sk-kimi-secret');
    expect(kimiHarness.plan(start({ permissionMode: 'auto-edit' }), ctx).args).not.toContain('--yolo');
  });

  it('detects kimi from `kimi --version` ("kimi, version X"), and reports none when it is not on PATH', async () => {
    const fake = installFakeCli('kimi', [], 'kimi, version 1.49.0');
    const savedPath = process.env.PATH;
    try {
      process.env.PATH = fake.path;
      expect(await kimiHarness.detect()).toEqual({ name: 'kimi', version: '1.49.0' });
      process.env.PATH = '/nonexistent';
      expect(await kimiHarness.detect()).toBeNull();
    } finally {
      process.env.PATH = savedPath;
      delete process.env.FAKE_CLI_SCENARIO;
      fake.remove();
    }
  });

  it('round-trips what the initialize id carries', () => {
    expect(kimiWireIds.parseInitialize(kimiWireIds.initialize('auto-edit', 'a:b/c'))).toEqual({
      mode: 'auto-edit',
      kimiSessionId: 'a:b/c',
    });
    expect(kimiWireIds.parseInitialize('fabric:initialize:root:x')).toBeNull();
    expect(kimiWireIds.parseInitialize('fabric:prompt:0')).toBeNull();
    expect(kimiWireIds.method('fabric:steer:12')).toBe('steer');
    expect(kimiWireIds.method('0d4bb9a2-6f1e')).toBeNull();
  });
});

// ---------------------------------------------------------------- end to end

/** The runner's "socket": every envelope, and ways to wait for them. */

const cleanups = cleanupsAfterEach();

function setup(steps: Step[], opts: { approvalTimeoutMs?: number } = {}) {
  const { fake, runner, recorder } = fakeCliRunner(
    {
      cli: 'kimi',
      version: 'kimi, version 1.49.0',
      steps,
      adapters: [kimiHarness],
      credentials: { KIMI_API_KEY: 'sk-kimi-e2e' },
      runner: { approvalTimeoutMs: opts.approvalTimeoutMs ?? 5000 },
    },
    cleanups,
  );
  const start = (
    sessionId: string,
    permissionMode: PermissionMode = 'ask',
    prompt = 'Write a test for greet() and run it',
  ) => {
    runner.start({
      sessionId,
      harness: 'kimi',
      prompt,
      cwd: null,
      labels: {},
      permissionMode,
      resume: null,
      model: null,
      credentials: [{ name: 'KIMI_API_KEY', version: 1, ciphertext: 'sealed' }],
    });
    return sessionId;
  };
  return { fake, runner, recorder, start };
}

const approvals = fixture('wire-approvals.jsonl');
/** The approvals turn as the fake plays it: pauses for our answer after each ApprovalRequest (lines 6 and 12). */
const approvalTurn = (mode: PermissionMode, kimiSessionId: string): Step[] => [
  { read: 2 },
  { print: initResponse(mode, kimiSessionId) },
  { replay: approvals, from: 1, to: 7 },
  { read: 1 },
  { replay: approvals, from: 7, to: 13 },
  { read: 1 },
  { replay: approvals, from: 13 },
  { readUntilEof: true },
];
const parsedStdin = (fake: FakeCli) => fake.calls()[0]!.stdin.map((l) => JSON.parse(l) as Record<string, unknown>);

describe('Kimi through the SessionRunner (fake kimi on PATH)', () => {
  it('runs a turn over the wire: JSON-RPC on stdin, approvals through the runner, usage and session id out, exit 0', async () => {
    const { fake, runner, recorder, start } = setup(approvalTurn('ask', 'fabric-ses_kimiE2E0001'));
    const id = start('ses_kimiE2E0001');

    const first = await recorder.poll(
      () => recorder.ofType('session.approval_request', id)[0],
      'the first approval request',
    );
    expect(first.payload).toMatchObject({
      tool: 'WriteFile',
      summary: 'WriteFile: Write file `/home/dev/proj/test_hello.py`',
    });
    runner.approve(id, first.payload.requestId, { decision: 'allow' });
    const second = await recorder.poll(
      () => recorder.ofType('session.approval_request', id)[1],
      'the second approval request',
    );
    expect(second.payload).toMatchObject({
      tool: 'Shell',
      input: expect.objectContaining({ arguments: { command: 'python -m pytest -q test_hello.py' } }),
    });
    runner.approve(id, second.payload.requestId, { decision: 'deny', reason: 'no tests today' });

    await recorder.poll(
      () => recorder.events(id).some((e) => e.kind === 'status' && e.status === 'turn_ended'),
      'the turn end',
    );
    runner.input(id, '', true); // the user ends the session (the runner cannot yet let the driver close stdin)
    const exit = await recorder.poll(() => recorder.ofType('session.exit', id)[0], 'the exit');
    expect(exit.payload).toEqual({ sessionId: id, code: 0, signal: null });

    const call = fake.calls()[0]!;
    expect(call.argv).toEqual(['--wire', '--session', 'fabric-ses_kimiE2E0001']);
    expect(call.env.KIMI_API_KEY).toBe('sk-kimi-e2e');
    expect(call.argv.join(' ')).not.toContain('sk-kimi-e2e');
    const stdin = parsedStdin(fake);
    expect(stdin.map((m) => m.jsonrpc)).toEqual(['2.0', '2.0', '2.0', '2.0']);
    expect(stdin[0]).toMatchObject({
      method: 'initialize',
      id: 'fabric:initialize:ask:fabric-ses_kimiE2E0001',
      params: { protocol_version: '1.10' },
    });
    expect(stdin[1]).toEqual({
      jsonrpc: '2.0',
      id: 'fabric:prompt:0',
      method: 'prompt',
      params: { user_input: 'Write a test for greet() and run it' },
    });
    expect(stdin[2]).toEqual({
      jsonrpc: '2.0',
      id: '0d4bb9a2-6f1e-4c55-8a0e-1d9e7c3b2a10',
      result: { request_id: '0d4bb9a2-6f1e-4c55-8a0e-1d9e7c3b2a10', response: 'approve' },
    });
    expect(stdin[3]).toEqual({
      jsonrpc: '2.0',
      id: '7e21c4d8-3b9f-4a6c-b2e5-90f1d3a8c4b7',
      result: { request_id: '7e21c4d8-3b9f-4a6c-b2e5-90f1d3a8c4b7', response: 'reject', feedback: 'no tests today' },
    });

    const metas = recorder.ofType('session.meta', id).map((e) => e.payload);
    expect(metas[0]).toEqual({ sessionId: id, harnessSessionId: 'fabric-ses_kimiE2E0001' });
    const total = metas.reduce(
      (t, m) => ({
        input: t.input + (m.usage?.input ?? 0),
        output: t.output + (m.usage?.output ?? 0),
        cached: t.cached + (m.usage?.cached ?? 0),
      }),
      { input: 0, output: 0, cached: 0 },
    );
    expect(total).toEqual({ input: 1110, output: 169, cached: 5312 });
    const events = recorder.events(id);
    expect(events).toContainEqual({ kind: 'text', text: "I'll add a test file." });
    expect(events).toContainEqual(expect.objectContaining({ kind: 'tool_call', id: 'Shell:2', name: 'Shell' }));
    expect(events).toContainEqual({
      kind: 'tool_result',
      id: 'Shell:2',
      output: expect.stringContaining('1 passed'),
      isError: false,
    });
    expect(events.filter((e) => e.kind === 'raw')).toEqual([]);
    expect(recorder.envelopes.filter((e) => e.type === 'session.exit')).toHaveLength(1);
  });

  it('in auto-edit mode asks the owner only about the shell command', async () => {
    const { fake, runner, recorder, start } = setup(approvalTurn('auto-edit', 'fabric-ses_kimiE2E0002'));
    const id = start('ses_kimiE2E0002', 'auto-edit');
    const request = await recorder.poll(
      () => recorder.ofType('session.approval_request', id)[0],
      'an approval request',
    );
    expect(request.payload.tool).toBe('Shell');
    runner.approve(id, request.payload.requestId, { decision: 'allow' });
    await recorder.poll(
      () => recorder.events(id).some((e) => e.kind === 'status' && e.status === 'turn_ended'),
      'the turn end',
    );
    runner.input(id, '', true);
    expect((await recorder.poll(() => recorder.ofType('session.exit', id)[0], 'the exit')).payload.code).toBe(0);
    expect(recorder.ofType('session.approval_request', id)).toHaveLength(1);
    expect(
      parsedStdin(fake)
        .slice(2)
        .map((m) => (m.result as { response: string }).response),
    ).toEqual(['approve', 'approve']);
  });

  it('denies an approval nobody answers in time', async () => {
    const { fake, runner, recorder, start } = setup(
      [
        { read: 2 },
        { print: initResponse('ask', 'fabric-ses_kimiE2E0003') },
        { replay: approvals, from: 1, to: 7 },
        { read: 1 },
        { print: '{"jsonrpc":"2.0","method":"event","params":{"type":"TurnEnd","payload":{}}}' },
        { readUntilEof: true },
      ],
      { approvalTimeoutMs: 100 },
    );
    const id = start('ses_kimiE2E0003');
    await recorder.poll(
      () => recorder.events(id).some((e) => e.kind === 'status' && e.status === 'turn_ended'),
      'the answer to the approval',
    );
    runner.input(id, '', true);
    await recorder.poll(() => recorder.ofType('session.exit', id)[0], 'the exit');
    expect(recorder.ofType('session.approval_request', id)).toHaveLength(1);
    expect(parsedStdin(fake)[2]).toMatchObject({ result: { response: 'reject', feedback: 'nobody answered in time' } });
  });

  it('steers a running turn live, then ends the process cleanly once the turn is answered', async () => {
    const steer = fixture('wire-steer.jsonl');
    const { fake, runner, recorder, start } = setup([
      { read: 2 },
      { print: initResponse('ask', 'fabric-ses_kimiE2E0004') },
      { replay: steer, from: 1, to: 5 },
      { read: 1 },
      { replay: steer, from: 5, to: 12 },
      { readUntilEof: true },
    ]);
    const id = start('ses_kimiE2E0004', 'ask', 'Write a fizzbuzz script');
    await recorder.poll(
      () => recorder.events(id).some((e) => e.kind === 'text' && e.text.includes('JavaScript')),
      'the first text',
    );
    runner.input(id, 'Use Python instead', false);
    // No eof from us: the driver closes stdin itself when the prompt has answered, and Kimi exits 0.
    expect((await recorder.poll(() => recorder.ofType('session.exit', id)[0], 'the exit')).payload.code).toBe(0);

    expect(parsedStdin(fake).slice(2)).toEqual([
      { jsonrpc: '2.0', id: 'fabric:steer:1', method: 'steer', params: { user_input: 'Use Python instead' } },
    ]);
    const events = recorder.events(id);
    expect(events).toContainEqual({
      kind: 'status',
      status: 'input_taken',
      harnessStatus: 'SteerInput',
      detail: 'Use Python instead',
    });
    expect(events.some((e) => e.kind === 'status' && e.status === 'input_queued')).toBe(false);
  });

  it('cancels with SIGINT', async () => {
    const { runner, recorder, start } = setup([
      { read: 2 },
      { replay: fixture('wire-turn.jsonl'), from: 0, to: 5 },
      { readUntilEof: true },
    ]);
    const id = start('ses_kimiE2E0005');
    await recorder.poll(
      () => recorder.events(id).some((e) => e.kind === 'status' && e.status === 'turn_started'),
      'the turn',
    );
    await runner.cancel(id);
    expect((await recorder.poll(() => recorder.ofType('session.exit', id)[0], 'the exit')).payload).toEqual({
      sessionId: id,
      code: null,
      signal: 'SIGINT',
    });
  });
});

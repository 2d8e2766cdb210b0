// Codex (`codex exec --json`). Fixtures in packages/protocol/fixtures/harness/codex/
// (see the README there): exec-*.jsonl are stdout of the real codex-cli 0.169.0,
// recorded offline against a local stand-in for the Responses API; exec-composed.jsonl
// holds shapes the recordings could not produce, built from openai/codex
// codex-rs/exec/src/exec_events.rs, plus malformed lines.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sessionEventSchema, type PermissionMode, type SessionEvent, type SessionStartPayload } from '@fabric/protocol';
import { harnessFixture, type Step } from '../../../../test/fake-cli/index.js';
import { cleanupsAfterEach, fakeCliRunner } from '../../../../test/harness-kit.js';
import { codexHarness, codexMcpOverrides, createCodexHarness } from './adapter.js';
import { CodexExecDriver, CodexThreadTotals } from './events.js';
import type { McpWiring, PlanContext } from '../types.js';

const fixture = (name: string) => harnessFixture(`codex/${name}`);
const lines = (name: string) =>
  readFileSync(fixture(name), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
const FIXTURES = [
  'exec-full.jsonl',
  'exec-mcp.jsonl',
  'exec-failed.jsonl',
  'exec-resume.jsonl',
  'exec-offline.jsonl',
  'exec-composed.jsonl',
];
const THREAD = '01a1fd85-7a4a-7743-a303-d4ead22685e6'; // exec-full.jsonl and exec-resume.jsonl

/** A driver over an in-memory context: the events and metadata it produced. */
function drive(totals = new CodexThreadTotals()) {
  const events: SessionEvent[] = [];
  const metas: Record<string, unknown>[] = [];
  const driver = new CodexExecDriver(
    {
      event: (e) => {
        // Already in the current shape: reading it back changes nothing.
        expect(sessionEventSchema.parse(e)).toEqual(e);
        events.push(e);
      },
      meta: (m) => metas.push(m),
      write: () => {
        throw new Error('exec takes no stdin after the prompt');
      },
      closeStdin: () => {},
      requestApproval: () => {
        throw new Error('exec never asks');
      },
    },
    totals,
  );
  const feed = (ls: string[]) => {
    for (const l of ls) driver.line(l);
  };
  return { driver, feed, events, metas };
}

describe('the codex exec driver', () => {
  it('maps a recorded session: thread id, reasoning, a command and its output, a patch, a web search, the answer, usage', () => {
    const d = drive();
    d.feed(lines('exec-full.jsonl'));
    expect(d.events).toEqual([
      { kind: 'status', status: 'turn_started', harnessStatus: 'turn.started' },
      { kind: 'reasoning', text: "**Listing the workspace**\n\nI'll look at the files before writing the greeting." },
      { kind: 'tool_call', id: 'item_1', name: 'shell', input: { command: "/bin/bash -c 'ls -1'" } },
      { kind: 'tool_result', id: 'item_1', output: 'README.md\nnotes.md\n', isError: false },
      { kind: 'file_change', path: '/tmp/cx/work/README.md', change: 'modify' },
      { kind: 'file_change', path: '/tmp/cx/work/hello.txt', change: 'add' },
      {
        kind: 'tool_call',
        id: 'ws_1',
        name: 'web_search',
        input: { query: 'codex exec json events', action: { type: 'search', query: 'codex exec json events' } },
      },
      { kind: 'tool_result', id: 'ws_1', output: '', isError: false },
      { kind: 'text', text: 'I added `hello.txt` and updated the README.' },
    ]);
    // input_tokens 12200 include 11300 cached; output 230 includes reasoning. No cost: codex reports none.
    expect(d.metas).toEqual([{ harnessSessionId: THREAD }, { usage: { input: 900, output: 230, cached: 11300 } }]);
    expect(d.driver.input()).toBe(false);
  });

  it('maps MCP calls, the one that ran and the one exec refused, and shows error items as warnings', () => {
    const d = drive();
    d.feed(lines('exec-mcp.jsonl'));
    const shown = d.events.filter((e) => e.kind !== 'status' || e.status === 'warning');
    expect(shown).toEqual([
      {
        kind: 'status',
        status: 'warning',
        harnessStatus: 'error',
        detail:
          'Model metadata for `gpt-5` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.',
      },
      { kind: 'tool_call', id: 'item_1', name: 'mcp__fabric__ledger_note', input: { text: 'greeting written' } },
      { kind: 'tool_result', id: 'item_1', output: 'noted: greeting written token=tok123', isError: false },
      { kind: 'tool_call', id: 'item_2', name: 'mcp__tracker__ledger_note', input: { text: 'open an issue' } },
      {
        kind: 'tool_result',
        id: 'item_2',
        output: 'MCP tool call requires approval, but approval policy is never',
        isError: true,
      },
      { kind: 'text', text: 'Noted in the ledger; the tracker needs approval, which exec mode cannot give.' },
    ]);
    expect(d.metas.at(-1)).toEqual({ usage: { input: 1100, output: 78, cached: 1900 } });
  });

  it('reports a failed turn once, after the failed command', () => {
    const d = drive();
    d.feed(lines('exec-failed.jsonl'));
    const result = d.events.find((e) => e.kind === 'tool_result');
    expect(result).toMatchObject({ id: 'item_0', isError: true });
    expect((result as { output: string }).output).toContain('npm error code ENOENT');
    expect(d.events.filter((e) => e.kind === 'error')).toEqual([
      {
        kind: 'error',
        message:
          "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.",
      },
    ]);
    expect(d.metas.filter((m) => m.usage)).toEqual([]);
  });

  it('a turn that fails with a message not printed before is still reported', () => {
    const d = drive();
    d.feed(['{"type":"turn.failed","error":{"message":"stream disconnected"}}']);
    expect(d.events).toEqual([{ kind: 'error', message: 'stream disconnected' }]);
  });

  it('shows reconnect attempts as status, not errors (a real run with no network)', () => {
    const d = drive();
    d.feed(lines('exec-offline.jsonl'));
    expect(d.events.filter((e) => e.kind === 'error')).toEqual([]);
    expect(d.events.filter((e) => e.kind === 'status' && e.status === 'retrying')).toHaveLength(8);
    expect(d.events).toContainEqual({
      kind: 'status',
      status: 'retrying',
      harnessStatus: 'error',
      detail: expect.stringMatching(/^Reconnecting\.\.\. \d\/5/),
    });
    expect(d.events).toContainEqual({
      kind: 'status',
      status: 'warning',
      harnessStatus: 'error',
      detail: expect.stringContaining('Falling back from WebSockets'),
    });
  });

  it('reports a resumed turn its own tokens when it saw the thread before, codex total otherwise', () => {
    const totals = new CodexThreadTotals();
    drive(totals).feed(lines('exec-full.jsonl'));
    const resumed = drive(totals);
    resumed.feed(lines('exec-resume.jsonl'));
    // codex printed the thread total 18700/17500/274; 12200/11300/230 of it was the first turn.
    expect(resumed.metas).toEqual([{ harnessSessionId: THREAD }, { usage: { input: 300, output: 44, cached: 6200 } }]);

    const fresh = drive();
    fresh.feed(lines('exec-resume.jsonl'));
    expect(fresh.metas.at(-1)).toEqual({ usage: { input: 1200, output: 274, cached: 17500 } });
    expect(resumed.events.map((e) => e.kind)).toEqual(['status', 'reasoning', 'tool_call', 'tool_result', 'text']);
  });

  it('reads the composed shapes: a plan once per change, a failed patch, a declined command; the rest raw', () => {
    const d = drive();
    const ls = lines('exec-composed.jsonl');
    d.feed(ls);
    expect(d.events).toEqual([
      { kind: 'status', status: 'turn_started', harnessStatus: 'turn.started' },
      {
        kind: 'status',
        status: 'plan',
        harnessStatus: 'todo_list',
        detail: '[ ] Read the failing test\n[ ] Fix the parser',
      },
      {
        kind: 'status',
        status: 'plan',
        harnessStatus: 'todo_list',
        detail: '[x] Read the failing test\n[ ] Fix the parser',
      },
      { kind: 'status', status: 'file_change_failed', harnessStatus: 'failed', detail: '/work/src/parser.ts' },
      { kind: 'tool_call', id: 'item_2', name: 'shell', input: { command: "/bin/bash -c 'rm -rf build'" } },
      { kind: 'tool_result', id: 'item_2', output: 'declined', isError: true },
      { kind: 'raw', line: ls[8]! }, // item.plan.delta: not mapped
      { kind: 'raw', line: ls[9]! }, // collab_tool_call: not mapped
      {
        kind: 'status',
        status: 'plan',
        harnessStatus: 'todo_list',
        detail: '[x] Read the failing test\n[x] Fix the parser',
      },
      { kind: 'raw', line: ls[11]! }, // agent_message without text
      { kind: 'raw', line: ls[12]! }, // truncated JSON
      { kind: 'raw', line: 'Reading additional input from stdin...' },
      { kind: 'raw', line: '[1,2,3]' },
      { kind: 'raw', line: ls[15]! }, // usage with a non-number
    ]);
    expect(d.metas[0]).toEqual({ harnessSessionId: '0199a213-81c0-7800-8aa1-bbab2a035a53' });
    expect(d.metas.at(-1)).toEqual({ usage: { input: 200, output: 12, cached: 1000 } });
  });

  it('never emits two events for one item, whatever mix of started/updated/completed arrives', () => {
    for (const name of FIXTURES) {
      const d = drive();
      const ls = lines(name);
      d.feed([...ls, ...ls]); // every item twice over
      const ids = (kind: string) => d.events.filter((e) => e.kind === kind).map((e) => (e as { id: string }).id);
      expect(new Set(ids('tool_call')).size, name).toBe(ids('tool_call').length);
      expect(new Set(ids('tool_result')).size, name).toBe(ids('tool_result').length);
      const single = drive();
      single.feed(ls);
      for (const kind of ['text', 'reasoning', 'file_change'] as const) {
        expect(
          d.events.filter((e) => e.kind === kind),
          `${name}: ${kind}`,
        ).toEqual(single.events.filter((e) => e.kind === kind));
      }
    }
  });

  it('never throws, on any prefix of any recorded line', () => {
    const d = drive();
    for (const name of FIXTURES) {
      for (const l of lines(name))
        for (let i = 0; i <= l.length; i += 11) expect(() => d.driver.line(l.slice(0, i))).not.toThrow();
    }
    expect(() =>
      d.feed([
        'null',
        '42',
        '"x"',
        '{}',
        '{"type":null}',
        '{"type":"item.completed","item":null}',
        '{"type":"turn.completed","usage":{}}',
      ]),
    ).not.toThrow();
  });
});

const planCtx = (over: Partial<PlanContext> = {}): PlanContext => ({
  allowlist: [],
  baseEnv: { PATH: '/usr/bin', HOME: '/home/dev' },
  credentials: {},
  mcp: null,
  ...over,
});
const startOf = (over: Partial<SessionStartPayload> = {}): SessionStartPayload => ({
  sessionId: 'ses_codex0001',
  harness: 'codex',
  prompt: 'Fix the failing test',
  cwd: null,
  labels: {},
  permissionMode: 'ask',
  resume: null,
  model: null,
  ...over,
});
const MCP: McpWiring = {
  name: 'fabric',
  command: '/usr/bin/node',
  args: ['/opt/fabric/dist/mcp/server.js'],
  env: { FABRIC_AGENT_TOKEN: 'tok-secret', FABRIC_SESSION_ID: 'ses_codex0001' },
};

describe('the codex plan', () => {
  it('runs `codex exec --json` with the prompt on stdin, never in argv', () => {
    const plan = codexHarness.plan(startOf(), planCtx());
    expect(plan).toMatchObject({ command: 'codex', stdin: 'Fix the failing test', closeStdin: true });
    expect(plan.args).toEqual([
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--color',
      'never',
      '--sandbox',
      'read-only',
      '-',
    ]);
  });

  it('maps each permission mode onto a sandbox (exec never prompts)', () => {
    const sandbox = (permissionMode: PermissionMode) => {
      const args = codexHarness.plan(startOf({ permissionMode }), planCtx()).args;
      return args[args.indexOf('--sandbox') + 1];
    };
    expect([sandbox('ask'), sandbox('auto-edit'), sandbox('full')]).toEqual([
      'read-only',
      'workspace-write',
      'danger-full-access',
    ]);
  });

  it('resumes with `exec … resume <thread_id> -`, exec options before the subcommand, and passes the model', () => {
    const plan = codexHarness.plan(startOf({ resume: THREAD, model: 'gpt-5.5', prompt: 'and the tests' }), planCtx());
    expect(plan.args).toEqual([
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--color',
      'never',
      '--sandbox',
      'read-only',
      '-m',
      'gpt-5.5',
      'resume',
      THREAD,
      '-',
    ]);
    expect(plan.stdin).toBe('and the tests');
  });

  it('puts credentials and the MCP token in the environment only', () => {
    const plan = codexHarness.plan(startOf(), planCtx({ credentials: { OPENAI_API_KEY: 'sk-secret' }, mcp: MCP }));
    expect(plan.env).toMatchObject({ OPENAI_API_KEY: 'sk-secret', FABRIC_AGENT_TOKEN: 'tok-secret', PATH: '/usr/bin' });
    expect(plan.args.join(' ')).not.toMatch(/sk-secret|tok-secret/);
    expect(plan.args).toEqual(
      expect.arrayContaining(['-c', 'mcp_servers.fabric.env_vars=["FABRIC_AGENT_TOKEN", "FABRIC_SESSION_ID"]']),
    );
  });

  it('refuses a resume id or model that would read as a flag', () => {
    expect(() =>
      codexHarness.plan(startOf({ resume: '--dangerously-bypass-approvals-and-sandbox' }), planCtx()),
    ).toThrow(/not valid for codex/);
    expect(() => codexHarness.plan(startOf({ model: '-c' }), planCtx())).toThrow(/not valid for codex/);
  });
});

/** The runner's "socket": every envelope it emits, and a way to wait for one. */

const cleanups = cleanupsAfterEach();

let counter = 0;
function setup(steps: Step[]) {
  const { fake, runner, recorder } = fakeCliRunner(
    {
      cli: 'codex',
      version: '0.169.0',
      steps,
      adapters: [createCodexHarness()],
      credentials: { OPENAI_API_KEY: 'sk-test-secret' },
    },
    cleanups,
  );
  const start = (over: Partial<SessionStartPayload> = {}) => {
    const sessionId = `ses_codexrun${String(++counter).padStart(4, '0')}`;
    runner.start({
      ...startOf({ sessionId }),
      credentials: [{ name: 'OPENAI_API_KEY', version: 1, ciphertext: 'sealed' }],
      ...over,
      sessionId,
    });
    return sessionId;
  };
  return { fake, runner, recorder, start };
}

describe('codex through the SessionRunner, with a fake `codex` first on PATH', () => {
  it('streams a turn: ack, events, usage and the thread id, exit 0 last; the prompt came on stdin', async () => {
    const { fake, recorder, start } = setup([{ readUntilEof: true }, { replay: fixture('exec-full.jsonl') }]);
    const id = start({ prompt: 'Write a greeting file\nand update the README' });
    expect((await recorder.next('session.exit', id)).payload).toEqual({ sessionId: id, code: 0, signal: null });

    const types = recorder.of(id).map((e) => e.type);
    expect(types[0]).toBe('session.ack');
    expect(types.at(-1)).toBe('session.exit');
    expect(new Set(types.slice(1, -1))).toEqual(new Set(['session.event', 'session.meta']));
    expect(types.lastIndexOf('session.meta')).toBeGreaterThan(types.lastIndexOf('session.event')); // usage comes with turn.completed, last
    const metas = recorder
      .of(id)
      .filter((e) => e.type === 'session.meta')
      .map((e) => e.payload);
    expect(metas).toEqual([
      { sessionId: id, harnessSessionId: THREAD },
      { sessionId: id, usage: { input: 900, output: 230, cached: 11300 } },
    ]);
    expect(recorder.events(id).map((e) => e.kind)).toEqual([
      'status',
      'reasoning',
      'tool_call',
      'tool_result',
      'file_change',
      'file_change',
      'tool_call',
      'tool_result',
      'text',
    ]);

    const [call] = fake.calls();
    expect(call!.stdin).toEqual(['Write a greeting file', 'and update the README']);
    expect(call!.argv).toEqual([
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--color',
      'never',
      '--sandbox',
      'read-only',
      '-',
    ]);
    expect(call!.env.OPENAI_API_KEY).toBe('sk-test-secret');
    expect(call!.argv.join(' ')).not.toContain('sk-test-secret');
  });

  it('queues input sent during a turn and runs it as `codex exec resume <thread_id> -` when the turn ends', async () => {
    const { fake, runner, recorder, start } = setup([
      { readUntilEof: true },
      { when: 'resume', steps: [{ replay: fixture('exec-resume.jsonl') }, { exit: 0 }] },
      { replay: fixture('exec-full.jsonl'), to: 1 },
      { gate: 'input-sent' },
      { replay: fixture('exec-full.jsonl'), from: 1 },
    ]);
    const id = start({ model: 'gpt-5.5' });
    await recorder.next('session.meta', id, (e) => e.payload.harnessSessionId === THREAD);
    runner.input(id, 'What does hello.txt say now?', false);
    expect(recorder.events(id)).toContainEqual(expect.objectContaining({ kind: 'status', status: 'input_queued' }));
    fake.open('input-sent'); // the first turn goes on only now
    expect((await recorder.next('session.exit', id)).payload.code).toBe(0);

    const calls = fake.calls();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.argv).toEqual([
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--color',
      'never',
      '--sandbox',
      'read-only',
      '-m',
      'gpt-5.5',
      'resume',
      THREAD,
      '-',
    ]);
    expect(calls[1]!.stdin).toEqual(['What does hello.txt say now?']);
    expect(
      recorder
        .events(id)
        .filter((e) => e.kind === 'text')
        .map((e) => (e as { text: string }).text),
    ).toEqual(['I added `hello.txt` and updated the README.', 'It says: hello from codex']);
    // The resumed turn reports its own tokens, not the thread's running total.
    const usages = recorder
      .of(id)
      .filter((e) => e.type === 'session.meta' && e.payload.usage)
      .map((e) => (e.payload as { usage: unknown }).usage);
    expect(usages).toEqual([
      { input: 900, output: 230, cached: 11300 },
      { input: 300, output: 44, cached: 6200 },
    ]);
  });

  it('passes each permission mode as its sandbox flag', async () => {
    const { fake, recorder, start } = setup([{ readUntilEof: true }, { replay: fixture('exec-resume.jsonl'), to: 2 }]);
    for (const permissionMode of ['ask', 'auto-edit', 'full'] as const)
      await recorder.next('session.exit', start({ permissionMode }));
    expect(fake.calls().map((c) => c.argv[c.argv.indexOf('--sandbox') + 1])).toEqual([
      'read-only',
      'workspace-write',
      'danger-full-access',
    ]);
  });

  it('cancels with SIGINT', async () => {
    const { runner, recorder, start } = setup([
      { readUntilEof: true },
      { replay: fixture('exec-full.jsonl'), to: 2 },
      { sleep: 20_000 },
    ]);
    const id = start();
    await recorder.next('session.meta', id);
    await runner.cancel(id);
    expect((await recorder.next('session.exit', id)).payload).toEqual({ sessionId: id, code: null, signal: 'SIGINT' });
  });
});

const REAL_CODEX = fileURLToPath(
  new URL('../../../../../../.cache/real-clis/node_modules/.bin/codex', import.meta.url),
);

/** Run the real CLI; resolves with its exit code and output (never rejects). */
function run(
  bin: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = execFile(bin, args, { env, timeout: 15_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: `${stdout}${stderr}`, stdout });
    });
    child.stdin?.end();
  });
}

describe('the real codex CLI (from scripts/install-real-clis.sh) accepts every argv the plan builds', () => {
  // clap parses the whole argv before it does anything: an unknown flag, a bad
  // value or a misplaced option exits 2 with a usage error; a valid argv
  // followed by `--help` prints help and exits 0 without running anything.
  const home = () => {
    const dir = mkdtempSync(join(tmpdir(), 'fabric-codex-home-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return { PATH: process.env.PATH ?? '', HOME: dir, CODEX_HOME: dir };
  };

  it('is installed', () => {
    expect(existsSync(REAL_CODEX), `${REAL_CODEX} is missing: run \`bash scripts/install-real-clis.sh\``).toBe(true);
  });

  it('takes every mode, fresh and resumed, with model and MCP overrides', async () => {
    const env = home();
    const plans = (['ask', 'auto-edit', 'full'] as const).flatMap((permissionMode) =>
      [null, THREAD].map(
        (resume) =>
          codexHarness.plan(startOf({ permissionMode, resume, model: 'gpt-5.5' }), planCtx({ mcp: MCP })).args,
      ),
    );
    const results = await Promise.all(plans.map((args) => run(REAL_CODEX, [...args, '--help'], env)));
    results.forEach((r, i) => expect(r.code, `codex ${plans[i]!.join(' ')} --help\n${r.out}`).toBe(0));
    expect(results[1]!.out).toContain('Resume a previous session');

    // The check can fail: the same argv with a wrong flag, or `--sandbox` after `resume`, is refused.
    const bad = await Promise.all([
      run(REAL_CODEX, [...plans[0]!.slice(0, -1), '--no-such-flag', '-', '--help'], env),
      run(REAL_CODEX, ['exec', '--json', 'resume', THREAD, '--sandbox', 'read-only', '-', '--help'], env),
    ]);
    expect(bad.map((r) => r.code)).toEqual([2, 2]);
  });

  it('reads the MCP overrides as a stdio server whose env comes by name', async () => {
    const overrides = codexMcpOverrides(MCP);
    const r = await run(REAL_CODEX, ['mcp', 'list', '--json', ...overrides], home());
    expect(r.code, r.out).toBe(0);
    const servers = JSON.parse(r.stdout) as { name: string; transport: Record<string, unknown> }[];
    expect(servers).toContainEqual(
      expect.objectContaining({
        name: 'fabric',
        transport: expect.objectContaining({
          type: 'stdio',
          command: MCP.command,
          args: MCP.args,
          env_vars: ['FABRIC_AGENT_TOKEN', 'FABRIC_SESSION_ID'],
        }),
      }),
    );
  });
});

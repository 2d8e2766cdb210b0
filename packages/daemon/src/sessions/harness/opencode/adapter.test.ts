// OpenCode (`opencode run --format json`). Fixtures in packages/protocol/fixtures/harness/opencode/
// (see the README there): run-*.jsonl are stdout of the real opencode 1.18.33, recorded
// offline against a local stand-in for an OpenAI-compatible API; run-composed.jsonl holds
// shapes the recordings could not produce, built from anomalyco/opencode (formerly
// sst/opencode) packages/opencode/src/cli/cmd/run.ts and session/message-v2.ts, plus malformed lines.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sessionEventSchema, type PermissionMode, type SessionEvent, type SessionStartPayload } from '@fabric/protocol';
import { harnessFixture, type Step } from '../../../../test/fake-cli/index.js';
import { cleanupsAfterEach, fakeCliRunner } from '../../../../test/harness-kit.js';
import { opencodeHarness, opencodePermission } from './adapter.js';
import { OpencodeRunDriver } from './events.js';
import type { McpWiring, PlanContext } from '../types.js';

const fixture = (name: string) => harnessFixture(`opencode/${name}`);
const lines = (name: string) =>
  readFileSync(fixture(name), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
const FIXTURES = [
  'run-full.jsonl',
  'run-patch.jsonl',
  'run-resume-ask.jsonl',
  'run-mcp.jsonl',
  'run-error.jsonl',
  'run-composed.jsonl',
];
const SESSION = 'ses_e027732faffeMRrk0TprKgrsLs'; // run-full, run-resume-ask, run-mcp

function drive() {
  const events: SessionEvent[] = [];
  const metas: Record<string, unknown>[] = [];
  const driver = new OpencodeRunDriver({
    event: (e) => {
      // Already in the current shape: reading it back changes nothing.
      expect(sessionEventSchema.parse(e)).toEqual(e);
      events.push(e);
    },
    meta: (m) => metas.push(m),
    write: () => {
      throw new Error('run mode takes no stdin after the prompt');
    },
    closeStdin: () => {},
    requestApproval: () => {
      throw new Error('run mode never asks');
    },
  });
  const feed = (ls: string[]) => {
    for (const l of ls) driver.line(l);
  };
  return { driver, feed, events, metas };
}

describe('the opencode run driver', () => {
  it('maps a recorded session: session id, reasoning, text, tools with results and file changes, usage and cost per step', () => {
    const d = drive();
    d.feed(lines('run-full.jsonl'));
    const step = { kind: 'status', status: 'step_started', harnessStatus: 'step_start' };
    expect(d.events).toEqual([
      step,
      { kind: 'reasoning', text: 'The user wants a greeting file. First I should look at what is in the directory.' },
      { kind: 'text', text: 'Let me look around first.' },
      {
        kind: 'tool_call',
        id: 'call_ls',
        name: 'bash',
        input: { command: 'ls', description: 'Lists files in the workspace' },
      },
      { kind: 'tool_result', id: 'call_ls', output: 'README.md\nnotes.md\n', isError: false },
      step,
      {
        kind: 'tool_call',
        id: 'call_write',
        name: 'write',
        input: { filePath: '/tmp/oc/work/hello.txt', content: 'hello from opencode\n' },
      },
      { kind: 'tool_result', id: 'call_write', output: 'Wrote file successfully.', isError: false },
      { kind: 'file_change', path: '/tmp/oc/work/hello.txt', change: 'add' },
      step,
      {
        kind: 'tool_call',
        id: 'call_edit',
        name: 'edit',
        input: { filePath: '/tmp/oc/work/README.md', oldString: 'old line', newString: 'new line' },
      },
      { kind: 'tool_result', id: 'call_edit', output: 'Edit applied successfully.', isError: false },
      { kind: 'file_change', path: '/tmp/oc/work/README.md', change: 'modify' },
      step,
      { kind: 'tool_call', id: 'call_read', name: 'read', input: { filePath: '/tmp/oc/work/missing.txt' } },
      { kind: 'tool_result', id: 'call_read', output: 'File not found: /tmp/oc/work/missing.txt', isError: true },
      step,
      { kind: 'text', text: 'I created `hello.txt` and updated the README.' },
    ]);
    // Per step: input excludes cache reads; output counts reasoning (28 + 20); cost as opencode priced it.
    expect(d.metas).toEqual([
      { harnessSessionId: SESSION },
      { usage: { input: 5200, output: 48, cached: 0, costUsd: 0.01632 } },
      { usage: { input: 200, output: 40, cached: 5200, costUsd: 0.00276 } },
      { usage: { input: 200, output: 44, cached: 5400, costUsd: 0.00288 } },
      { usage: { input: 200, output: 30, cached: 5600, costUsd: 0.00273 } },
      { usage: { input: 200, output: 14, cached: 5800, costUsd: 0.00255 } },
    ]);
    expect(d.driver.input()).toBe(false);
  });

  it('turns an apply_patch into one file change per file it added, updated or deleted', () => {
    const d = drive();
    d.feed(lines('run-patch.jsonl'));
    expect(d.events.filter((e) => e.kind === 'file_change')).toEqual([
      { kind: 'file_change', path: '/tmp/oc/work2/hello.txt', change: 'add' },
      { kind: 'file_change', path: '/tmp/oc/work2/README.md', change: 'modify' },
      { kind: 'file_change', path: '/tmp/oc/work2/notes.md', change: 'delete' },
    ]);
  });

  it('shows a tool call the run rejected (ask mode) as a failed result', () => {
    const d = drive();
    d.feed(lines('run-resume-ask.jsonl'));
    expect(d.events.filter((e) => e.kind === 'tool_call').map((e) => (e as { name: string }).name)).toEqual([
      'todowrite',
      'bash',
    ]);
    expect(d.events.filter((e) => e.kind === 'tool_result').at(-1)).toEqual({
      kind: 'tool_result',
      id: 'call_rm',
      output: 'The user rejected permission to use this specific tool call.',
      isError: true,
    });
  });

  it('maps an MCP tool call and the reasoning before it', () => {
    const d = drive();
    d.feed(lines('run-mcp.jsonl'));
    expect(d.events.filter((e) => e.kind !== 'status')).toEqual([
      { kind: 'reasoning', text: 'The ledger tool records notes for the owner.' },
      { kind: 'tool_call', id: 'call_note', name: 'fabric_ledger_note', input: { text: 'greeting checked' } },
      { kind: 'tool_result', id: 'call_note', output: 'noted: greeting checked', isError: false },
      { kind: 'text', text: 'Noted in the ledger.' },
    ]);
    expect(d.metas[0]).toEqual({ harnessSessionId: SESSION });
  });

  it('reports an API error with its message', () => {
    const d = drive();
    d.feed(lines('run-error.jsonl'));
    expect(d.events).toEqual([
      {
        kind: 'error',
        message:
          'Incorrect API key provided: sk-test. You can find your API key at https://platform.openai.com/account/api-keys.',
      },
    ]);
    expect(d.metas).toEqual([{ harnessSessionId: 'ses_e02767de0ffex2xLB0MjeKh5eJ' }]);
  });

  it('reads the composed shapes: a failing command, an overwrite, a move, errors, rejected permissions; the rest raw', () => {
    const d = drive();
    const ls = lines('run-composed.jsonl');
    d.feed(ls);
    expect(d.events).toEqual([
      { kind: 'status', status: 'step_started', harnessStatus: 'step_start' },
      {
        kind: 'tool_call',
        id: 'call_test',
        name: 'bash',
        input: { command: 'npm test', description: 'Runs the tests' },
      },
      { kind: 'tool_result', id: 'call_test', output: '1 failing\n', isError: true }, // exit 1, status completed
      {
        kind: 'tool_call',
        id: 'call_w2',
        name: 'write',
        input: { filePath: '/tmp/oc/work/hello.txt', content: 'hello again\n' },
      },
      { kind: 'tool_result', id: 'call_w2', output: 'Wrote file successfully.', isError: false },
      { kind: 'file_change', path: '/tmp/oc/work/hello.txt', change: 'modify' },
      expect.objectContaining({ kind: 'tool_call', id: 'call_mv', name: 'apply_patch' }),
      expect.objectContaining({ kind: 'tool_result', id: 'call_mv', isError: false }),
      { kind: 'file_change', path: '/tmp/oc/work/new.md', change: 'rename' },
      { kind: 'raw', line: ls[6]! }, // unknown type
      { kind: 'raw', line: ls[7]! }, // step_finish with a non-number
      { kind: 'error', message: 'The operation was aborted.' },
      { kind: 'error', message: 'UnknownError' },
      { kind: 'status', status: 'permission_denied', detail: 'bash, webfetch' },
      { kind: 'raw', line: ls[12]! }, // truncated JSON
      { kind: 'raw', line: 'Error: Session not found' },
      { kind: 'raw', line: '[1,2,3]' },
    ]);
    expect(d.metas.filter((m) => m.usage)).toEqual([
      { usage: { input: 240, output: 50, cached: 1000, costUsd: 0.0042 } },
    ]);
  });

  it('keeps the first session id: the one a resume needs', () => {
    const d = drive();
    d.feed([lines('run-full.jsonl')[0]!, lines('run-error.jsonl')[0]!]);
    expect(d.metas).toEqual([{ harnessSessionId: SESSION }]);
  });

  it('never emits two events for one part or tool call', () => {
    for (const name of FIXTURES) {
      const once = drive();
      once.feed(lines(name));
      const twice = drive();
      twice.feed([...lines(name), ...lines(name)]);
      for (const kind of ['text', 'reasoning', 'tool_call', 'tool_result', 'file_change'] as const) {
        expect(
          twice.events.filter((e) => e.kind === kind),
          `${name}: ${kind}`,
        ).toEqual(once.events.filter((e) => e.kind === kind));
      }
      expect(
        twice.metas.filter((m) => m.usage),
        name,
      ).toEqual(once.metas.filter((m) => m.usage));
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
        '{}',
        '{"type":"tool_use"}',
        '{"type":"tool_use","part":{"tool":"bash","state":{"status":"completed"}}}',
        '{"type":"step_finish","part":{}}',
      ]),
    ).not.toThrow();
  });
});

const planCtx = (over: Partial<PlanContext> = {}): PlanContext => ({
  allowlist: [],
  baseEnv: { PATH: '/usr/bin', HOME: '/home/dev', PWD: '/home/dev/daemon' },
  credentials: {},
  mcp: null,
  ...over,
});
const startOf = (over: Partial<SessionStartPayload> = {}): SessionStartPayload => ({
  sessionId: 'ses_opencode01',
  harness: 'opencode',
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
  env: { FABRIC_AGENT_TOKEN: 'tok-secret' },
};
const permissionEnv = (mode: PermissionMode) =>
  opencodeHarness.plan(startOf({ permissionMode: mode }), planCtx()).env.OPENCODE_PERMISSION;

describe('the opencode plan', () => {
  it('runs `opencode run --format json --thinking` with the prompt on stdin, and without PWD', () => {
    const plan = opencodeHarness.plan(startOf(), planCtx());
    expect(plan).toMatchObject({
      command: 'opencode',
      args: ['run', '--format', 'json', '--thinking'],
      stdin: 'Fix the failing test',
      closeStdin: true,
    });
    expect(plan.env.PWD).toBeUndefined(); // opencode prefers $PWD to its cwd
  });

  it('resumes with --session and passes -m provider/model', () => {
    const plan = opencodeHarness.plan(startOf({ resume: SESSION, model: 'anthropic/claude-sonnet-4-5' }), planCtx());
    expect(plan.args).toEqual([
      'run',
      '--format',
      'json',
      '--thinking',
      '-m',
      'anthropic/claude-sonnet-4-5',
      '--session',
      SESSION,
    ]);
  });

  it('maps permission modes: rules that reject all but reading, plus edits, or --auto', () => {
    expect(JSON.parse(permissionEnv('ask')!)).toMatchObject({ '*': 'ask', glob: 'allow', grep: 'allow' });
    expect(JSON.parse(permissionEnv('ask')!).edit).toBeUndefined();
    expect(JSON.parse(permissionEnv('auto-edit')!)).toMatchObject({ '*': 'ask', edit: 'allow' });
    expect(permissionEnv('full')).toBeUndefined();
    expect(opencodeHarness.plan(startOf({ permissionMode: 'full' }), planCtx()).args).toContain('--auto');
    expect(opencodeHarness.plan(startOf({ permissionMode: 'auto-edit' }), planCtx()).args).not.toContain('--auto');
    expect(Object.keys(opencodePermission('ask', null)!)[0]).toBe('*'); // matched last-first: the catch-all goes first
  });

  it('adds the daemon MCP server through config in env, its tools allowed, its token in env only', () => {
    const plan = opencodeHarness.plan(
      startOf(),
      planCtx({
        baseEnv: { PATH: '/usr/bin', OPENCODE_CONFIG_CONTENT: '{"model":"anthropic/claude-sonnet-4-5"}' },
        credentials: { ANTHROPIC_API_KEY: 'sk-ant-secret' },
        mcp: MCP,
      }),
    );
    expect(JSON.parse(plan.env.OPENCODE_CONFIG_CONTENT!)).toEqual({
      model: 'anthropic/claude-sonnet-4-5',
      mcp: { fabric: { type: 'local', command: ['/usr/bin/node', '/opt/fabric/dist/mcp/server.js'] } },
    });
    expect(JSON.parse(plan.env.OPENCODE_PERMISSION!)['fabric_*']).toBe('allow');
    expect(plan.env).toMatchObject({ FABRIC_AGENT_TOKEN: 'tok-secret', ANTHROPIC_API_KEY: 'sk-ant-secret' });
    expect(plan.env.OPENCODE_CONFIG_CONTENT).not.toContain('tok-secret');
    expect(plan.args.join(' ')).not.toMatch(/secret/);
  });

  it('refuses a resume id or model that would read as a flag', () => {
    expect(() => opencodeHarness.plan(startOf({ resume: '--auto' }), planCtx())).toThrow(/not valid for opencode/);
    expect(() => opencodeHarness.plan(startOf({ model: '-x/y' }), planCtx())).toThrow(/not valid for opencode/);
    expect(() => opencodeHarness.plan(startOf({ model: 'gpt-5' }), planCtx())).toThrow(/provider\/model/);
  });
});

const cleanups = cleanupsAfterEach();

let counter = 0;
function setup(steps: Step[]) {
  const { fake, runner, recorder } = fakeCliRunner(
    {
      cli: 'opencode',
      version: '1.18.33',
      steps,
      adapters: [opencodeHarness],
      credentials: { OPENCODE_API_KEY: 'sk-test-secret' },
    },
    cleanups,
  );
  const start = (over: Partial<SessionStartPayload> = {}) => {
    const sessionId = `ses_ocrun${String(++counter).padStart(4, '0')}`;
    runner.start({
      ...startOf({ sessionId }),
      credentials: [{ name: 'OPENCODE_API_KEY', version: 1, ciphertext: 'sealed' }],
      ...over,
      sessionId,
    });
    return sessionId;
  };
  return { fake, runner, recorder, start };
}

describe('opencode through the SessionRunner, with a fake `opencode` first on PATH', () => {
  it('streams a turn: ack, events, the session id and usage, exit 0 last; the prompt came on stdin', async () => {
    const { fake, recorder, start } = setup([{ readUntilEof: true }, { replay: fixture('run-full.jsonl') }]);
    const id = start({ prompt: 'Write a greeting file\nand update the README' });
    expect((await recorder.next('session.exit', id)).payload).toEqual({ sessionId: id, code: 0, signal: null });

    const types = recorder.of(id).map((e) => e.type);
    expect(types[0]).toBe('session.ack');
    expect(types.at(-1)).toBe('session.exit');
    expect(new Set(types.slice(1, -1))).toEqual(new Set(['session.event', 'session.meta']));
    const metas = recorder
      .of(id)
      .filter((e) => e.type === 'session.meta')
      .map((e) => e.payload);
    expect(metas[0]).toEqual({ sessionId: id, harnessSessionId: SESSION });
    expect(metas.slice(1).map((m) => (m as { usage: { costUsd: number } }).usage.costUsd)).toEqual([
      0.01632, 0.00276, 0.00288, 0.00273, 0.00255,
    ]);
    expect(recorder.events(id).filter((e) => e.kind === 'text')).toHaveLength(2);

    const [call] = fake.calls();
    expect(call!.stdin).toEqual(['Write a greeting file', 'and update the README']);
    expect(call!.argv).toEqual(['run', '--format', 'json', '--thinking']);
    expect(call!.env.OPENCODE_API_KEY).toBe('sk-test-secret');
    expect(call!.env.OPENCODE_PERMISSION).toContain('"*":"ask"');
    expect(call!.argv.join(' ')).not.toContain('sk-test-secret');
  });

  it('queues input sent during a turn and runs it as `opencode run … --session <id>` when the turn ends', async () => {
    const { fake, runner, recorder, start } = setup([
      { readUntilEof: true },
      { when: '--session', steps: [{ replay: fixture('run-mcp.jsonl') }, { exit: 0 }] },
      { replay: fixture('run-full.jsonl'), to: 1 },
      { gate: 'input-sent' },
      { replay: fixture('run-full.jsonl'), from: 1 },
    ]);
    const id = start({ model: 'mock/coder', permissionMode: 'full' });
    await recorder.next('session.meta', id, (e) => e.payload.harnessSessionId === SESSION);
    runner.input(id, 'Note it in the ledger', false);
    expect(recorder.events(id)).toContainEqual(expect.objectContaining({ kind: 'status', status: 'input_queued' }));
    fake.open('input-sent'); // the first turn goes on only now
    expect((await recorder.next('session.exit', id)).payload.code).toBe(0);

    const calls = fake.calls();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.argv).toEqual([
      'run',
      '--format',
      'json',
      '--thinking',
      '-m',
      'mock/coder',
      '--session',
      SESSION,
      '--auto',
    ]);
    expect(calls[1]!.stdin).toEqual(['Note it in the ledger']);
    expect(
      recorder
        .events(id)
        .filter((e) => e.kind === 'text')
        .at(-1),
    ).toEqual({ kind: 'text', text: 'Noted in the ledger.' });
  });

  it('passes full as --auto and the other modes as permission rules in env', async () => {
    const { fake, recorder, start } = setup([{ readUntilEof: true }, { replay: fixture('run-error.jsonl') }]);
    for (const permissionMode of ['ask', 'auto-edit', 'full'] as const)
      await recorder.next('session.exit', start({ permissionMode }));
    expect(
      fake
        .calls()
        .map((c) => [c.argv.includes('--auto'), c.env.OPENCODE_PERMISSION?.includes('"edit":"allow"') ?? null]),
    ).toEqual([
      [false, false],
      [false, true],
      [true, null],
    ]);
  });

  it('cancels with SIGINT', async () => {
    const { runner, recorder, start } = setup([
      { readUntilEof: true },
      { replay: fixture('run-full.jsonl'), to: 2 },
      { sleep: 20_000 },
    ]);
    const id = start();
    await recorder.next('session.meta', id);
    await runner.cancel(id);
    expect((await recorder.next('session.exit', id)).payload).toEqual({ sessionId: id, code: null, signal: 'SIGINT' });
  });
});

const REAL_CLIS = fileURLToPath(new URL('../../../../../../.cache/real-clis/node_modules/', import.meta.url));

/**
 * The real opencode binary. `.bin/opencode` is a placeholder until opencode's
 * postinstall copies the platform binary over it, and install-real-clis.sh
 * installs with --ignore-scripts; so fall back to the platform package's own
 * binary (opencode-<platform>-<arch>[-baseline][-musl]/bin/opencode), as
 * postinstall.mjs would pick it. Null when none runs.
 */
function realOpencode(): string | null {
  const runs = (bin: string) =>
    existsSync(bin) && spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 15_000 }).status === 0;
  const shim = join(REAL_CLIS, '.bin', 'opencode');
  if (runs(shim)) return shim;
  const os = platform() === 'win32' ? 'windows' : platform();
  const prefix = `opencode-${os}-${arch()}`;
  const candidates = existsSync(REAL_CLIS)
    ? readdirSync(REAL_CLIS)
        .filter((d) => d === prefix || d.startsWith(`${prefix}-`))
        .sort()
    : [];
  for (const dir of candidates) {
    const bin = join(REAL_CLIS, dir, 'bin', 'opencode');
    if (runs(bin)) return bin;
  }
  return null;
}

/** Run the real CLI with stdin closed at once; resolves with its exit code and output (never rejects). */
function run(
  bin: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(bin, args, { env, cwd, timeout: 40_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: `${stdout}${stderr}` });
    });
    child.stdin?.end();
  });
}

describe('the real opencode CLI (from scripts/install-real-clis.sh) accepts every argv the plan builds', () => {
  // opencode's yargs rejects an unknown flag or a bad choice before the
  // command runs (exit 1, usage on stderr). Given an accepted argv and an
  // empty stdin, `run` itself starts and stops at once with "You must provide
  // a message or a command": proof the argv parsed, and no model is called.
  const ACCEPTED = 'You must provide a message or a command';
  let found: string | null | undefined;
  const binary = () => (found === undefined ? (found = realOpencode()) : found);

  it('is installed', () => {
    expect(
      binary(),
      `no runnable opencode under ${REAL_CLIS}: run \`bash scripts/install-real-clis.sh\``,
    ).not.toBeNull();
  });

  it('takes every mode, fresh and resumed, with a model', async () => {
    const bin = binary();
    expect(bin).not.toBeNull();
    // Each run gets its own home: opencode keeps a SQLite database there, and parallel first runs race on its migrations.
    const isolated = () => {
      const dir = mkdtempSync(join(tmpdir(), 'fabric-opencode-home-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        XDG_CONFIG_HOME: join(dir, 'config'),
        XDG_DATA_HOME: join(dir, 'data'),
        XDG_CACHE_HOME: join(dir, 'cache'),
        XDG_STATE_HOME: join(dir, 'state'),
        OPENCODE_DISABLE_AUTOUPDATE: '1',
        OPENCODE_DISABLE_MODELS_FETCH: '1',
      };
    };
    const all = (['ask', 'auto-edit', 'full'] as const).flatMap((permissionMode) =>
      [null, SESSION].map((resume) =>
        opencodeHarness.plan(
          startOf({ permissionMode, resume, model: 'anthropic/claude-sonnet-4-5' }),
          planCtx({ baseEnv: isolated(), mcp: MCP }),
        ),
      ),
    );
    // `ask` and `auto-edit` differ in env only; each distinct argv runs once (the CLI is ~1 s of CPU a run).
    const plans = [...new Map(all.map((p) => [p.args.join(' '), p])).values()];
    expect(plans).toHaveLength(4);
    const badEnv = isolated();
    const [results, bad] = await Promise.all([
      Promise.all(plans.map((p) => run(bin!, p.args, p.env, p.env.HOME!))),
      run(bin!, [...plans[0]!.args, '--no-such-flag'], badEnv, badEnv.HOME),
    ]);
    // Accepted, and the plan's OPENCODE_CONFIG_CONTENT (the MCP server) passed opencode's config validation on the way.
    results.forEach((r, i) => expect(r.out, `opencode ${plans[i]!.args.join(' ')}`).toContain(ACCEPTED));
    // The check can fail: an unknown flag never reaches the command.
    expect(bad.out).not.toContain(ACCEPTED);
    expect(bad.code).not.toBe(0);
  }, 60_000);
});

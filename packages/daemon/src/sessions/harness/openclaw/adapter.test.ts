// OpenClaw one-shot `openclaw agent --local --json`. The fixtures in
// packages/protocol/fixtures/harness/openclaw/ are its stdout, shaped after openclaw/openclaw:
//   src/commands/agent/delivery.ts + src/infra/outbound/envelope.ts
//                                     --local --json prints JSON.stringify({payloads, meta}, null, 2)
//   src/infra/outbound/payloads.ts    JSON payloads {text, mediaUrl: string|null, mediaUrls?, ...}
//   src/commands/agent-via-gateway.ts through the gateway: JSON.stringify({runId, status, summary, result}, null, 2)
//   src/gateway/server-methods/agent.ts   final statuses "ok" (summary "completed") | "error" (summary = the
//                                     error) | "timeout"
//   src/agents/pi-embedded-runner/types.ts  meta = EmbeddedPiRunMeta {durationMs, agentMeta{sessionId, provider,
//                                     model, usage{input, output, cacheRead, cacheWrite, total}, ...}, aborted,
//                                     error{kind, message}, stopReason}
//   src/cli/program/register.agent.ts, docs/cli/agent.md   flags (-m/--message, --session-id, --local, --json,
//                                     --model); src/commands/agent/session.ts: --session-id is used as given
// agent-compact.jsonl is the same value on one line; agent-local-logged.txt has a log line before it
// (older releases logged to stdout; current ones route logs to stderr under --json).
// The MCP config file (openclaw-mcp.ts) follows src/config/{paths,state-dir,includes,env-substitution,
// io.load,zod-schema.mcp-server}.ts; its exact shape was checked once by hand against openclaw 2026.9.6
// (`config get`, `mcp show --json`, `mcp probe`, and an `agent --local` turn against a local mock model
// that called the server's tool), which needs Node >= 24.16 and so cannot run in this suite.
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FabricError, sessionEventSchema, type SessionEvent, type SessionStartPayload } from '@fabric/protocol';
import { harnessFixture, installFakeCli, type Step } from '../../../../test/fake-cli/index.js';
import { cleanupsAfterEach, fakeCliRunner } from '../../../../test/harness-kit.js';
import { createOpenClawDriver, createOpenClawHarness, openclawHarness } from './adapter.js';
import type { HarnessAdapter, McpWiring, PlanContext } from '../types.js';

const fixture = (name: string) => harnessFixture(`openclaw/${name}`);
const lines = (name: string) =>
  readFileSync(fixture(name), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);

function drive() {
  const events: SessionEvent[] = [];
  const metas: Record<string, unknown>[] = [];
  const driver = createOpenClawDriver({
    event: (e) => events.push(e),
    meta: (m) => metas.push(m),
    write: () => {
      throw new Error('openclaw takes no stdin');
    },
    requestApproval: () => {
      throw new Error('openclaw asks no approvals');
    },
  });
  const feed = (ls: string[]) => {
    for (const l of ls) driver.line(l);
  };
  return { driver, feed, events, metas };
}

const localTexts: SessionEvent[] = [
  { kind: 'text', text: 'I read `hello.py` and added a `greet()` function that returns "hello".' },
  { kind: 'text', text: 'Run `python -c "import hello; print(hello.greet())"` to try it.' },
];
const localMetas = [
  { usage: { input: 1834 + 640, output: 412, cached: 12288 } },
  { harnessSessionId: 'fabric-ses_clawFixture01' },
];

describe('the OpenClaw --json driver', () => {
  it('gathers a pretty-printed result across lines: payload texts, usage, session id, completion', () => {
    const d = drive();
    const json = lines('agent-local.json');
    d.feed(json.slice(0, -1));
    expect(d.events).toEqual([]); // nothing until the value closes
    d.feed(json.slice(-1));
    expect(d.events).toEqual([...localTexts, { kind: 'status', status: 'turn_ended' }]);
    expect(d.metas).toEqual(localMetas);
  });

  it('reads the compact variant the same way', () => {
    const d = drive();
    d.feed(lines('agent-compact.jsonl'));
    expect(d.events).toEqual([...localTexts, { kind: 'status', status: 'turn_ended' }]);
    expect(d.metas).toEqual(localMetas);
  });

  it('keeps a log line before the JSON as raw', () => {
    const d = drive();
    d.feed(lines('agent-local-logged.txt'));
    expect(d.events).toEqual([
      { kind: 'raw', line: '[plugins] preloaded plugin registry (4 providers, 2 channels)' },
      ...localTexts,
      { kind: 'status', status: 'turn_ended' },
    ]);
  });

  it('reads the gateway shape, attachments included', () => {
    const d = drive();
    d.feed(lines('agent-gateway.json'));
    expect(d.events).toEqual([
      { kind: 'text', text: 'Done: the inbox has 3 unread messages.\nAttachment: https://example.com/inbox.png' },
      { kind: 'status', status: 'turn_ended', harnessStatus: 'ok' },
    ]);
    expect(d.metas).toEqual([
      { usage: { input: 512, output: 96, cached: 0 } },
      { harnessSessionId: 'fabric-ses_clawFixture02' },
    ]);
  });

  it('reports a gateway error status and a run error in meta', () => {
    const gateway = drive();
    gateway.feed(lines('agent-gateway-error.json'));
    expect(gateway.events).toEqual([
      { kind: 'error', message: 'openclaw run failed: Error: No API key found for provider "anthropic".' },
      { kind: 'status', status: 'turn_failed', harnessStatus: 'error' },
    ]);
    expect(gateway.metas).toEqual([]);

    const local = drive();
    local.feed(lines('agent-local-error.json'));
    expect(local.events).toEqual([
      { kind: 'text', text: expect.stringContaining('Context overflow') },
      { kind: 'error', message: 'context_overflow: prompt is too long: 271000 tokens > 272000 maximum' },
      { kind: 'status', status: 'turn_failed' },
    ]);
    expect(local.metas).toEqual([
      { usage: { input: 271000, output: 0, cached: 0 } },
      { harnessSessionId: 'fabric-ses_clawFixture03' },
    ]);
  });

  it('is not fooled by braces inside strings', () => {
    const d = drive();
    d.feed([
      '{',
      '  "payloads": [{ "text": "a } b { c \\" } \\\\", "mediaUrl": null }],',
      '  "meta": { "durationMs": 1 }',
      '}',
    ]);
    expect(d.events).toEqual([
      { kind: 'text', text: 'a } b { c " } \\' },
      { kind: 'status', status: 'turn_ended' },
    ]);
  });

  it('gives up a value that never closes as raw lines: on a new top-level "{", and at the end of output', () => {
    const d = drive();
    d.feed(['{ "started": "but never finished"', '  "more": 1', ...lines('agent-local.json')]);
    expect(d.events.slice(0, 2)).toEqual([
      { kind: 'raw', line: '{ "started": "but never finished"' },
      { kind: 'raw', line: '  "more": 1' },
    ]);
    expect(d.events.slice(2)).toEqual([...localTexts, { kind: 'status', status: 'turn_ended' }]);

    const cut = drive();
    const json = lines('agent-local.json');
    cut.feed(json.slice(0, 5));
    cut.driver.end();
    expect(cut.events).toEqual(json.slice(0, 5).map((line) => ({ kind: 'raw', line })));
  });

  it('keeps JSON that is not a result as raw, never throws, and emits only valid events', () => {
    const d = drive();
    d.feed(['{"level":"info","msg":"gateway connected"}', '[1, 2]', '{"payloads": 3}', '}', '{]']);
    expect(d.events).toEqual([
      { kind: 'raw', line: '{"level":"info","msg":"gateway connected"}' },
      { kind: 'raw', line: '[1, 2]' },
      { kind: 'raw', line: '{"payloads": 3}' },
      { kind: 'raw', line: '}' },
      { kind: 'raw', line: '{]' },
    ]);
    const garbage = [
      '',
      '{',
      '"',
      '{"a":"\\',
      '}}}}',
      '{"runId":"r","status":"weird-new-status","summary":"s"}',
      '{"payloads":[{"text":5},null]}',
      '\u0000',
    ];
    for (const name of [
      'agent-local.json',
      'agent-gateway.json',
      'agent-gateway-error.json',
      'agent-local-error.json',
      'agent-compact.jsonl',
      'agent-local-logged.txt',
    ]) {
      expect(() => d.feed([...garbage, ...lines(name)])).not.toThrow();
    }
    d.driver.end();
    // Each in the current shape: reading it back changes nothing.
    for (const e of d.events) expect(sessionEventSchema.parse(e)).toEqual(e);
    expect(d.events).toContainEqual({
      kind: 'status',
      status: 'other',
      harnessStatus: 'weird-new-status',
      detail: 's',
    });
  });

  it('takes no live input', () => {
    expect(drive().driver.input('more')).toBe(false);
  });
});

describe('the OpenClaw adapter', () => {
  const start = (extra: Partial<SessionStartPayload> = {}): SessionStartPayload => ({
    sessionId: 'ses_clawPlan0001',
    harness: 'openclaw',
    prompt: 'summarize the inbox',
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
    credentials: { ANTHROPIC_API_KEY: 'sk-ant-secret' },
    mcp: null,
  };

  it('plans one local turn with a Fabric-chosen session id, JSON output, and stdin closed', () => {
    const plan = openclawHarness.plan(start(), ctx);
    expect(plan).toEqual({
      command: 'openclaw',
      args: [
        'agent',
        '--local',
        '--json',
        '--session-id',
        'fabric-ses_clawPlan0001',
        '--message',
        'summarize the inbox',
      ],
      env: { PATH: '/usr/bin', ANTHROPIC_API_KEY: 'sk-ant-secret' },
      closeStdin: true,
      harnessSessionId: 'fabric-ses_clawPlan0001',
    });
  });

  it('resumes with the same --session-id, passes a model, keeps secrets out of argv, refuses an empty message', () => {
    const plan = openclawHarness.plan(
      start({
        resume: 'fabric-ses_clawPlan0001',
        model: 'anthropic/claude-sonnet-4-5',
        prompt: '-n looks like a flag',
      }),
      ctx,
    );
    expect(plan.args).toEqual([
      'agent',
      '--local',
      '--json',
      '--session-id',
      'fabric-ses_clawPlan0001',
      '--model',
      'anthropic/claude-sonnet-4-5',
      '--message',
      '-n looks like a flag',
    ]);
    expect(plan.args.join(' ')).not.toContain('sk-ant-secret');
    expect(() => openclawHarness.plan(start({ prompt: '  \n' }), ctx)).toThrow(FabricError);
  });

  it('detects openclaw from `openclaw --version`', async () => {
    const fake = installFakeCli('openclaw', [], '2026.2.19-2 build_sha=9325318d0c99');
    const savedPath = process.env.PATH;
    try {
      process.env.PATH = fake.path;
      expect(await openclawHarness.detect()).toEqual({ name: 'openclaw', version: '2026.2.19-2' });
    } finally {
      process.env.PATH = savedPath;
      delete process.env.FAKE_CLI_SCENARIO;
      fake.remove();
    }
  });
});

describe("OpenClaw and the daemon's MCP server", () => {
  const TOKEN = 'fst-secret-token-0001';
  const MCP: McpWiring = {
    name: 'fabric',
    command: '/usr/bin/node',
    args: ['/opt/fabric/dist/mcp/server.js'],
    env: {
      FABRIC_AGENT_SOCKET: '/run/fabric/agent.sock',
      FABRIC_SESSION_ID: 'ses_clawPlan0001',
      FABRIC_SESSION_TOKEN: TOKEN,
    },
  };
  const start: SessionStartPayload = {
    sessionId: 'ses_clawPlan0001',
    harness: 'openclaw',
    prompt: 'summarize the inbox',
    cwd: null,
    labels: {},
    permissionMode: 'ask',
    resume: null,
    model: null,
  };
  const ARGV = [
    'agent',
    '--local',
    '--json',
    '--session-id',
    'fabric-ses_clawPlan0001',
    '--message',
    'summarize the inbox',
  ];

  /** A private home (an OpenClaw user with or without a config) and the daemon's directory for the file. */
  function machine() {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'fabric-openclaw-mcp-')));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const home = join(root, 'home');
    mkdirSync(home);
    const dir = join(root, 'data', 'openclaw');
    const userConfig = (
      rel: string,
      text = '{ agents: { defaults: { model: { primary: "anthropic/claude-sonnet-4-5" } } } }',
    ) => {
      const file = join(home, rel);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, text);
      return file;
    };
    const ctx = (over: Partial<PlanContext> = {}, env: Record<string, string> = {}): PlanContext => ({
      allowlist: [],
      baseEnv: { PATH: '/usr/bin', HOME: home, ...env },
      credentials: { ANTHROPIC_API_KEY: 'sk-ant-secret' },
      mcp: MCP,
      ...over,
    });
    return { root, home, dir, userConfig, ctx, harness: createOpenClawHarness({ mcpConfigDir: dir }) };
  }
  const configOf = (env: Record<string, string>) => {
    const path = env.OPENCLAW_CONFIG_PATH!;
    return {
      path,
      text: readFileSync(path, 'utf8'),
      json: JSON.parse(readFileSync(path, 'utf8')) as Record<string, any>,
    };
  };

  it("runs with a config file that includes the user's config and adds the fabric server; the token travels in env only", () => {
    const m = machine();
    const user = m.userConfig('.openclaw/openclaw.json');
    const plan = m.harness.plan(start, m.ctx());

    expect(plan.args).toEqual(ARGV);
    const file = configOf(plan.env);
    expect(file.path.startsWith(`${m.dir}/openclaw-`)).toBe(true);
    expect(file.json).toEqual({
      $include: user,
      mcp: {
        servers: {
          fabric: {
            enabled: true,
            transport: 'stdio',
            command: '/usr/bin/node',
            args: ['/opt/fabric/dist/mcp/server.js'],
            env: {
              FABRIC_AGENT_SOCKET: '${FABRIC_AGENT_SOCKET}',
              FABRIC_SESSION_ID: '${FABRIC_SESSION_ID}',
              FABRIC_SESSION_TOKEN: '${FABRIC_SESSION_TOKEN}',
            },
          },
        },
      },
    });
    expect(plan.env).toMatchObject({
      ...MCP.env,
      ANTHROPIC_API_KEY: 'sk-ant-secret',
      HOME: m.home,
      // Sessions, auth profiles, .env, skills and plugins stay where they were: not beside Fabric's file.
      OPENCLAW_STATE_DIR: join(m.home, '.openclaw'),
      OPENCLAW_INCLUDE_ROOTS: join(m.home, '.openclaw'),
    });
    for (const secret of [TOKEN, 'sk-ant-secret']) {
      expect(file.text).not.toContain(secret);
      expect(plan.args.join(' ')).not.toContain(secret);
    }
    expect(statSync(file.path).mode & 0o777).toBe(0o600);
    expect(statSync(m.dir).mode & 0o777).toBe(0o700);
  });

  it('changes nothing without the MCP server, or without a directory for the file', () => {
    const m = machine();
    m.userConfig('.openclaw/openclaw.json');
    const expected = {
      command: 'openclaw',
      args: ARGV,
      env: { PATH: '/usr/bin', HOME: m.home, ANTHROPIC_API_KEY: 'sk-ant-secret' },
      closeStdin: true,
      harnessSessionId: 'fabric-ses_clawPlan0001',
    };
    expect(m.harness.plan(start, m.ctx({ mcp: null }))).toEqual(expected);
    expect(openclawHarness.plan(start, m.ctx())).toEqual(expected);
    expect(existsSync(m.dir)).toBe(false);
  });

  it("finds the user's config where OpenClaw would: OPENCLAW_CONFIG_PATH with ~, their include roots and state dir kept", () => {
    const m = machine();
    const user = m.userConfig('dotfiles/claw.json5');
    const plan = m.harness.plan(
      start,
      m.ctx(
        {},
        {
          OPENCLAW_CONFIG_PATH: '~/dotfiles/claw.json5',
          OPENCLAW_INCLUDE_ROOTS: '/srv/shared',
          OPENCLAW_STATE_DIR: '/srv/claw-state',
        },
      ),
    );
    expect(configOf(plan.env).json.$include).toBe(user);
    expect(plan.env.OPENCLAW_INCLUDE_ROOTS).toBe(['/srv/shared', join(m.home, 'dotfiles')].join(delimiter));
    expect(plan.env.OPENCLAW_STATE_DIR).toBe('/srv/claw-state');
  });

  it('takes a legacy ~/.clawdbot config when that is all there is, and admits both directories of a symlinked one', () => {
    const legacy = machine();
    const old = legacy.userConfig('.clawdbot/clawdbot.json');
    const plan = legacy.harness.plan(start, legacy.ctx());
    expect(configOf(plan.env).json.$include).toBe(old);
    expect(plan.env.OPENCLAW_STATE_DIR).toBe(join(legacy.home, '.clawdbot'));

    const linked = machine();
    const real = linked.userConfig('dotfiles/openclaw.json');
    mkdirSync(join(linked.home, '.openclaw'));
    symlinkSync(real, join(linked.home, '.openclaw', 'openclaw.json'));
    const viaLink = linked.harness.plan(start, linked.ctx());
    // Included by its own path (relative includes inside it resolve as OpenClaw would), checked by realpath too.
    expect(configOf(viaLink.env).json.$include).toBe(join(linked.home, '.openclaw', 'openclaw.json'));
    expect(viaLink.env.OPENCLAW_INCLUDE_ROOTS).toBe(
      [join(linked.home, '.openclaw'), join(linked.home, 'dotfiles')].join(delimiter),
    );
  });

  it("adds only the server when the user has no config, and keeps OpenClaw's state dir", () => {
    const m = machine();
    const plan = m.harness.plan(start, m.ctx());
    const file = configOf(plan.env);
    expect(file.json.$include).toBeUndefined();
    expect(Object.keys(file.json.mcp.servers)).toEqual(['fabric']);
    expect(plan.env.OPENCLAW_STATE_DIR).toBe(join(m.home, '.openclaw'));
    expect(plan.env.OPENCLAW_INCLUDE_ROOTS).toBeUndefined();
  });

  it("runs without the server rather than without the user's config, when OpenClaw would refuse to include it", () => {
    const m = machine();
    const user = m.userConfig('.openclaw/openclaw.json');
    linkSync(user, join(m.home, 'backup.json')); // OpenClaw's include reader refuses hard-linked files
    const plan = m.harness.plan(start, m.ctx());
    expect(plan.env.OPENCLAW_CONFIG_PATH).toBeUndefined();
    expect(plan.env.FABRIC_SESSION_TOKEN).toBeUndefined();
    expect(existsSync(m.dir)).toBe(false);
  });

  it("keeps command and args literal under OpenClaw's ${VAR} substitution", () => {
    const m = machine();
    const plan = m.harness.plan(
      start,
      m.ctx({ mcp: { ...MCP, command: '/opt/${HOME}/node', args: ['--x=$${KEEP}', '${lower} $5'] } }),
    );
    const server = configOf(plan.env).json.mcp.servers.fabric;
    expect(server.command).toBe('/opt/$${HOME}/node');
    expect(server.args).toEqual(['--x=$$${KEEP}', '${lower} $5']);
  });

  it("shares one file among sessions that need the same one, and writes a new one when the user's config moves", () => {
    const m = machine();
    m.userConfig('.openclaw/openclaw.json');
    const first = m.harness.plan(start, m.ctx());
    const second = m.harness.plan(
      { ...start, sessionId: 'ses_clawPlan0002' },
      m.ctx({
        mcp: {
          ...MCP,
          env: { ...MCP.env, FABRIC_SESSION_ID: 'ses_clawPlan0002', FABRIC_SESSION_TOKEN: 'another-token' },
        },
      }),
    );
    expect(second.env.OPENCLAW_CONFIG_PATH).toBe(first.env.OPENCLAW_CONFIG_PATH);
    expect(second.env.FABRIC_SESSION_TOKEN).toBe('another-token');
    const moved = m.userConfig('elsewhere.json');
    const third = m.harness.plan(start, m.ctx({}, { OPENCLAW_CONFIG_PATH: moved }));
    expect(third.env.OPENCLAW_CONFIG_PATH).not.toBe(first.env.OPENCLAW_CONFIG_PATH);
    expect(readdirSync(m.dir).sort()).toEqual(
      [first.env.OPENCLAW_CONFIG_PATH, third.env.OPENCLAW_CONFIG_PATH].map((p) => p!.slice(m.dir.length + 1)).sort(),
    );
  });

  it('refuses the turn when the file cannot be written', () => {
    const m = machine();
    const harness = createOpenClawHarness({
      mcpConfigDir: m.dir,
      writeFile: () => {
        throw Object.assign(new Error('denied'), { code: 'EACCES' });
      },
    });
    let err: unknown;
    try {
      harness.plan(start, m.ctx());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FabricError);
    expect(err).toMatchObject({ code: 'spawn_failed', message: expect.stringContaining('EACCES') });
    expect((err as Error).message).not.toContain(TOKEN);
  });
});

// ---------------------------------------------------------------- end to end

const cleanups = cleanupsAfterEach();

function setup(steps: Step[], opts: { adapter?: HarnessAdapter; mcp?: (sessionId: string) => McpWiring } = {}) {
  const adapter = opts.adapter ?? openclawHarness;
  const { fake, runner, recorder } = fakeCliRunner(
    {
      cli: 'openclaw',
      version: '2026.2.19-2',
      steps,
      adapters: [adapter],
      credentials: { ANTHROPIC_API_KEY: 'sk-ant-e2e' },
      runner: opts.mcp ? { mcp: opts.mcp } : {},
    },
    cleanups,
  );
  const start = (sessionId: string, prompt: string) => {
    runner.start({
      sessionId,
      harness: 'openclaw',
      prompt,
      cwd: null,
      labels: {},
      permissionMode: 'ask',
      resume: null,
      model: null,
      credentials: [{ name: 'ANTHROPIC_API_KEY', version: 1, ciphertext: 'sealed' }],
    });
    return sessionId;
  };
  return { fake, runner, recorder, start };
}

describe('OpenClaw through the SessionRunner (fake openclaw on PATH)', () => {
  it('runs one turn: a log line, pretty-printed JSON, then text, usage, session id and exit 0; credentials in env only', async () => {
    const { fake, recorder, start } = setup([{ replay: fixture('agent-local-logged.txt') }]);
    const id = start('ses_clawFixture01', 'add greet()');
    const exit = await recorder.poll(() => recorder.ofType('session.exit', id)[0], 'the exit');
    expect(exit.payload).toEqual({ sessionId: id, code: 0, signal: null });
    expect(recorder.events(id)).toEqual([
      { kind: 'raw', line: '[plugins] preloaded plugin registry (4 providers, 2 channels)' },
      ...localTexts,
      { kind: 'status', status: 'turn_ended' },
    ]);
    // The id is Fabric's own, reported as soon as the process starts; the output's echo of it is not sent twice.
    expect(recorder.ofType('session.meta', id).map((e) => e.payload)).toEqual([
      { sessionId: id, harnessSessionId: 'fabric-ses_clawFixture01' },
      { sessionId: id, usage: localMetas[0]!.usage },
    ]);
    const call = fake.calls()[0]!;
    expect(call.argv).toEqual([
      'agent',
      '--local',
      '--json',
      '--session-id',
      'fabric-ses_clawFixture01',
      '--message',
      'add greet()',
    ]);
    expect(call.env.ANTHROPIC_API_KEY).toBe('sk-ant-e2e');
    expect(call.argv.join(' ')).not.toContain('sk-ant-e2e');
    expect(call.stdin).toEqual([]);
  });

  it('queues follow-up input and runs it as a second call with the same --session-id', async () => {
    const local = fixture('agent-local.json');
    const { fake, runner, recorder, start } = setup([{ replay: local }]);
    const id = start('ses_clawFixture01', 'add greet()');
    runner.input(id, 'now add a test', false); // the driver exists as soon as the turn is spawned
    const exit = await recorder.poll(() => recorder.ofType('session.exit', id)[0], 'the exit');
    expect(exit.payload.code).toBe(0);

    const calls = fake.calls();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.argv).toEqual([
      'agent',
      '--local',
      '--json',
      '--session-id',
      'fabric-ses_clawFixture01',
      '--message',
      'now add a test',
    ]);
    const statuses = recorder
      .events(id)
      .filter((e) => e.kind === 'status')
      .map((e) => (e as { status: string }).status);
    expect(statuses).toEqual(['input_queued', 'turn_ended', 'turn_started', 'turn_ended']);
    expect(recorder.ofType('session.exit', id)).toHaveLength(1);
  });

  it("hands the daemon's MCP server to each turn: a config file that includes the user's, the token only in env", async () => {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'fabric-openclaw-e2e-')));
    const savedHome = process.env.OPENCLAW_HOME;
    process.env.OPENCLAW_HOME = join(root, 'home'); // the runner passes the daemon's own env on: keep OpenClaw's paths in here
    cleanups.push(() => {
      if (savedHome === undefined) delete process.env.OPENCLAW_HOME;
      else process.env.OPENCLAW_HOME = savedHome;
      rmSync(root, { recursive: true, force: true });
    });
    const user = join(root, 'home', '.openclaw', 'openclaw.json');
    mkdirSync(join(user, '..'), { recursive: true });
    writeFileSync(user, '{}');
    const mcp = (sessionId: string): McpWiring => ({
      name: 'fabric',
      command: '/usr/bin/node',
      args: ['/opt/fabric/dist/mcp/server.js'],
      env: {
        FABRIC_AGENT_SOCKET: join(root, 'agent.sock'),
        FABRIC_SESSION_ID: sessionId,
        FABRIC_SESSION_TOKEN: `token-of-${sessionId}`,
      },
    });
    const { fake, runner, recorder, start } = setup([{ replay: fixture('agent-local.json') }], {
      adapter: createOpenClawHarness({ mcpConfigDir: join(root, 'data', 'openclaw') }),
      mcp,
    });
    const id = start('ses_clawFixture01', 'add greet()');
    runner.input(id, 'now add a test', false);
    expect((await recorder.poll(() => recorder.ofType('session.exit', id)[0], 'the exit')).payload.code).toBe(0);

    const calls = fake.calls();
    expect(calls).toHaveLength(2);
    for (const call of calls) {
      expect(call.env).toMatchObject({
        FABRIC_SESSION_ID: id,
        FABRIC_SESSION_TOKEN: `token-of-${id}`,
        OPENCLAW_STATE_DIR: join(root, 'home', '.openclaw'),
      });
      const text = readFileSync(call.env.OPENCLAW_CONFIG_PATH!, 'utf8');
      expect(JSON.parse(text)).toMatchObject({
        $include: user,
        mcp: { servers: { fabric: { env: { FABRIC_SESSION_TOKEN: '${FABRIC_SESSION_TOKEN}' } } } },
      });
      expect(text).not.toContain(`token-of-${id}`);
      expect(call.argv.join(' ')).not.toContain(`token-of-${id}`);
    }
  });

  it('cancels with SIGINT', async () => {
    const { runner, recorder, start } = setup([{ stderr: 'working' }, { sleep: 10_000 }]);
    const id = start('ses_clawCancel01', 'take your time');
    await recorder.poll(() => recorder.ofType('session.stderr', id)[0], 'the process to run');
    await runner.cancel(id);
    expect((await recorder.poll(() => recorder.ofType('session.exit', id)[0], 'the exit')).payload.signal).toBe(
      'SIGINT',
    );
  });
});

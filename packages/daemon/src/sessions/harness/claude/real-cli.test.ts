// The argv claudeHarness plans, checked against the real Claude Code CLI that
// scripts/install-real-clis.sh puts in .cache/real-clis (npm test runs it first), and one
// session through the real CLI with approvals answered by the owner. No network: argv
// is checked with stdin closed (the CLI parses, sets up and exits before any request), and
// the session talks to a local mock of the Messages API.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope, HarnessName, PermissionMode, SessionEvent, SessionStartPayload } from '@fabric/protocol';
import { AgentSocket } from '../../../agent/socket.js';
import { fabricMcpWiring } from '../../../agent/mcp/wiring.js';
import { SessionRunner } from '../../runner.js';
import { claudeHarness } from './adapter.js';
import type { HarnessAdapter, SpawnPlan } from '../types.js';

const REAL_CLIS = fileURLToPath(new URL('../../../../../../.cache/real-clis/node_modules', import.meta.url));

/**
 * The real `claude`. install-real-clis.sh installs with --ignore-scripts, so
 * `.bin/claude` is the npm package's stub ("native binary not installed")
 * unless its postinstall ran; the binary itself is in the platform package.
 * Throws (the tests fail, never skip) when neither is there.
 */
function realClaude(): string {
  const bin = join(REAL_CLIS, '.bin', 'claude');
  if (existsSync(bin) && statSync(bin).size > 64 * 1024) return bin;
  for (const suffix of ['', '-musl']) {
    const native = join(
      REAL_CLIS,
      '@anthropic-ai',
      `claude-code-${process.platform}-${process.arch}${suffix}`,
      'claude',
    );
    if (existsSync(native)) return native;
  }
  throw new Error(
    `the real claude CLI is not installed in ${REAL_CLIS}; run "bash scripts/install-real-clis.sh" (npm test does it first)`,
  );
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
function run(bin: string, args: string[], env: Record<string, string>, cwd: string, stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

let claude: string;
let scratch: string;
/** An environment with no network and no account: a private HOME, an API base nobody listens on. */
let offline: Record<string, string>;

beforeAll(() => {
  claude = realClaude();
  scratch = realpathSync(mkdtempSync(join(tmpdir(), 'fabric-real-claude-')));
  offline = {
    PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: scratch,
    ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    // As root, Claude Code refuses bypassPermissions outside a declared sandbox.
    ...(process.getuid?.() === 0 ? { IS_SANDBOX: '1' } : {}),
  };
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const RESUME_ID = '0b7d3c1e-2f4a-4d5b-9c6e-7f8a9b0c1d2e';
const variants: { name: string; start: Partial<SessionStartPayload> }[] = [
  { name: 'ask', start: { permissionMode: 'ask' } },
  { name: 'auto-edit', start: { permissionMode: 'auto-edit' } },
  { name: 'full', start: { permissionMode: 'full' } },
  { name: 'ask, resumed, with a model', start: { permissionMode: 'ask', resume: RESUME_ID, model: 'sonnet' } },
];
function planFor(start: Partial<SessionStartPayload>): SpawnPlan {
  return claudeHarness.plan(
    {
      sessionId: 'ses_realcli',
      harness: 'claude',
      prompt: 'hello',
      cwd: null,
      labels: {},
      permissionMode: 'ask',
      resume: null,
      model: null,
      ...start,
    },
    {
      allowlist: [],
      baseEnv: offline,
      credentials: { ANTHROPIC_API_KEY: 'sk-ant-offline-check' },
      mcp: fabricMcpWiring(join(scratch, 'none.sock'), 'ses_realcli', 'tok'),
    },
  );
}
const flagsOf = (args: string[]) => args.filter((a) => a.startsWith('-')).map((a) => a.split('=')[0]!);

describe('the argv claudeHarness plans, against the real claude CLI', () => {
  it('is the real CLI (2.1.x)', async () => {
    const r = await run(claude, ['--version'], offline, scratch);
    expect(r.stdout).toMatch(/^2\.1\.\d+ \(Claude Code\)/);
  });

  it('uses only flags the real CLI documents, apart from --permission-prompt-tool, which it hides', async () => {
    const help = (await run(claude, ['--help'], offline, scratch)).stdout;
    const documented = new Set(help.match(/--[a-z][a-z-]*/g));
    expect(help).toMatch(/-p, --print/);
    const hidden = new Set(['--permission-prompt-tool']);
    for (const v of variants) {
      for (const flag of flagsOf(planFor(v.start).args)) {
        if (flag === '-p') continue;
        if (hidden.has(flag)) continue; // accepted by the parser: the next test runs it
        expect(documented.has(flag), `${flag} (${v.name}) in claude --help`).toBe(true);
      }
    }
    // What the mode mapping relies on: the choices of --permission-mode.
    expect(help).toMatch(/--permission-mode <mode>[\s\S]*?"acceptEdits"[\s\S]*?"bypassPermissions"[\s\S]*?"default"/);
  });

  it('parses every planned argv (each permission mode, resume, model) and runs it up to the first prompt', async () => {
    const cwd = mkdtempSync(join(scratch, 'parse-'));
    const results = await Promise.all(
      variants.map(async (v) => {
        const p = planFor(v.start);
        // Stdin closed without the prompt: the CLI parses, sets up and exits without calling the API.
        return { v, p, r: await run(claude, p.args, p.env, cwd) };
      }),
    );
    for (const { v, r } of results) {
      expect(r.stderr, v.name).not.toMatch(/unknown option|error: option|is invalid|cannot be used/);
      if (v.start.resume) {
        // Parsed, and the id reached the conversation lookup (this machine has none).
        expect(r.stderr + r.stdout, v.name).toContain(`No conversation found with session ID: ${RESUME_ID}`);
      } else {
        expect({ code: r.code, stderr: r.stderr }, v.name).toEqual({ code: 0, stderr: '' });
      }
    }
  });

  it('would notice a wrong flag or mode: the same check fails on an unknown flag and on a bad mode value', async () => {
    const p = planFor({ permissionMode: 'ask' });
    const unknown = await run(claude, [...p.args, '--no-such-flag'], p.env, scratch);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown option '--no-such-flag'");
    const args = [...p.args];
    args[args.indexOf('--permission-mode') + 1] = 'ask';
    const badMode = await run(claude, args, p.env, scratch);
    expect(badMode.code).toBe(1);
    expect(badMode.stderr).toMatch(/argument 'ask' is invalid/);
  });
});

describe('a session through the real claude CLI (mock Messages API)', () => {
  it('asks the owner through the approval MCP server: a denied Bash call fails, an approved Edit changes the file', async () => {
    const { startMockApi } = (await import(
      fileURLToPath(new URL('../../../../../protocol/fixtures/harness/claude/record/mock-api.mjs', import.meta.url))
    )) as {
      startMockApi(script: unknown[]): Promise<{ url: string; close(): Promise<void> }>;
    };
    const cwd = mkdtempSync(join(scratch, 'project-'));
    writeFileSync(join(cwd, 'hello.txt'), 'hello\n');
    const api = await startMockApi([
      [
        {
          type: 'tool_use',
          id: 'toolu_01RealBash',
          name: 'Bash',
          input: { command: 'rm -rf build', description: 'Remove build/' },
        },
      ],
      [{ type: 'tool_use', id: 'toolu_01RealRead', name: 'Read', input: { file_path: join(cwd, 'hello.txt') } }],
      [
        {
          type: 'tool_use',
          id: 'toolu_01RealEdit',
          name: 'Edit',
          input: { file_path: join(cwd, 'hello.txt'), old_string: 'hello', new_string: 'hello, world' },
        },
      ],
      [{ type: 'text', text: 'Edited; build/ left alone.' }],
    ]);
    const saved = { ...process.env };
    const agent = new AgentSocket({
      path: join(scratch, 'agent.sock'),
      approve: (sessionId, req) => runner.requestApproval(sessionId, req),
    });
    await agent.listen();
    const envelopes: Envelope[] = [];
    let exited!: (e: Envelope) => void;
    const exit = new Promise<Envelope>((resolve) => (exited = resolve));
    const sessionId = 'ses_realclaude1';
    const runner: SessionRunner = new SessionRunner({
      adapters: new Map<HarnessName, HarnessAdapter>([['claude', claudeHarness]]),
      allowlist: [],
      workDir: cwd,
      emit: (env) => {
        envelopes.push(env);
        if (env.type === 'session.approval_request') {
          const { requestId, tool } = env.payload;
          runner.approve(
            sessionId,
            requestId,
            tool === 'Bash' ? { decision: 'deny', reason: 'not today' } : { decision: 'allow' },
          );
        }
        if (env.type === 'session.exit') exited(env);
      },
      mcp: (id) => fabricMcpWiring(agent.path, id, agent.issueToken(id)),
      // The vault's part (decrypting) is the cache's business; here the runner gets plaintext directly.
      credentials: async () => new Map([['ANTHROPIC_API_KEY', new TextEncoder().encode('sk-ant-offline-check')]]),
      graceMs: 1000,
    });
    try {
      for (const k of Object.keys(process.env)) delete process.env[k];
      Object.assign(process.env, offline, { PATH: `${dirname(claude)}:${offline.PATH}`, ANTHROPIC_BASE_URL: api.url });
      expect(basename(claude)).toBe('claude');
      runner.start({
        sessionId,
        harness: 'claude',
        prompt: 'Make hello.txt say hello, world',
        cwd,
        labels: {},
        permissionMode: 'ask' as PermissionMode,
        resume: null,
        model: null,
        credentials: [{ name: 'ANTHROPIC_API_KEY', version: 1, ciphertext: 'sealed' }],
        byDeviceOwner: true,
      });
      const done = await Promise.race([exit, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
      expect(done, 'the session ended by itself').not.toBeNull();
      expect((done as Extract<Envelope, { type: 'session.exit' }>).payload).toMatchObject({ code: 0, signal: null });
    } finally {
      for (const k of Object.keys(process.env)) delete process.env[k];
      Object.assign(process.env, saved);
      await runner.stopAll();
      await agent.close();
      await api.close();
    }
    const asked = envelopes
      .filter((e) => e.type === 'session.approval_request')
      .map((e) => (e as Extract<Envelope, { type: 'session.approval_request' }>).payload.summary);
    expect(asked).toEqual(['Bash: rm -rf build', `Edit: ${join(cwd, 'hello.txt')}`]);
    const events = envelopes.flatMap((e) => (e.type === 'session.event' ? [e.payload.event] : [])) as SessionEvent[];
    expect(events).toContainEqual({
      kind: 'tool_result',
      id: 'toolu_01RealBash',
      output: 'denied: not today',
      isError: true,
    });
    expect(events).toContainEqual({ kind: 'file_change', path: join(cwd, 'hello.txt'), change: 'modify' });
    expect(events.filter((e) => e.kind === 'raw' || e.kind === 'error')).toEqual([]);
    expect(readFileSync(join(cwd, 'hello.txt'), 'utf8')).toBe('hello, world\n');
    expect(envelopes.filter((e) => e.type === 'session.meta').map((e) => Object.keys(e.payload).sort())).toEqual([
      ['harnessSessionId', 'sessionId'],
      ['sessionId', 'usage'],
    ]);
  });
});

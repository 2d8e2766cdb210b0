import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceView, SessionView, StreamEvent } from '@fabric/protocol';
import { harnessFixture, installFakeClis, type Step } from '../../daemon/test/fake-cli/index.js';
import { Proc, optimal, tempDir, until } from './procs.js';

/**
 * Every agent harness through the whole stack: `optimal up` (control plane +
 * device daemon in another process) with fake claude, codex, opencode, kimi
 * and openclaw binaries first on its PATH, replaying recorded output; the
 * `optimal` CLI drives sessions, approvals, resume, cancel and fuel.
 */
const lines = (name: string) => readFileSync(harnessFixture(name), 'utf8').split('\n').filter(Boolean);
const fixture = harnessFixture;

const scenarios: Record<string, { steps: Step[]; version: string }> = {
  claude: { version: '2.1.197', steps: [{ read: 1 }, { replay: fixture('claude/session.jsonl') }, { read: 1 }] },
  codex: {
    version: '0.169.0',
    steps: [
      { readUntilEof: true },
      { when: 'resume', steps: [{ replay: fixture('codex/exec-resume.jsonl') }, { exit: 0 }] },
      { replay: fixture('codex/exec-full.jsonl') },
    ],
  },
  opencode: { version: '1.18.33', steps: [{ readUntilEof: true }, { replay: fixture('opencode/run-full.jsonl') }] },
  kimi: {
    version: '1.49.0',
    // No initialize response, so the driver keeps the safe "ask" mode and asks about both tools.
    steps: [
      { read: 2 },
      { replay: fixture('kimi/wire-approvals.jsonl'), from: 1, to: 7 },
      { read: 1 },
      { replay: fixture('kimi/wire-approvals.jsonl'), from: 7, to: 13 },
      { read: 1 },
      { replay: fixture('kimi/wire-approvals.jsonl'), from: 13 },
      { readUntilEof: true },
    ],
  },
  openclaw: { version: '2026.3.1', steps: [{ replay: fixture('openclaw/agent-local.json') }] },
};

const fakes = installFakeClis(scenarios);
const D = tempDir('harnesses');
let up: Proc;
const cli = (args: string[]) => optimal([...args, '--data', D.path], { timeoutMs: 30_000 });
const json = <T>(r: { stdout: string }) => JSON.parse(r.stdout) as T;
const show = async (id: string) => json<SessionView>(await cli(['session', 'show', id, '--json']));
const events = async (id: string) =>
  (await cli(['session', 'logs', id, '--json'])).stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StreamEvent);
const normalised = (es: StreamEvent[]) =>
  es.filter((e) => e.kind === 'event').map((e) => e.data as { kind: string; text?: string });

beforeAll(async () => {
  up = new Proc(['up', '--data', D.path, '--port', '0', '--allow', 'echo'], fakes.env());
  await up.waitFor(/device online/, 60_000);
}, 90_000);

afterAll(async () => {
  await up?.kill('SIGTERM');
  fakes.remove();
  D.remove();
});

// Each step spawns a CLI process (seconds each on a busy machine): generous budgets, no fixed windows.
describe('agent harnesses end to end', { timeout: 180_000 }, () => {
  it('detects all five CLIs with their versions', async () => {
    const [device] = json<DeviceView[]>(await cli(['devices', '--json']));
    const found = Object.fromEntries(device!.capabilities!.harnesses.map((h) => [h.name, h.version]));
    expect(found).toMatchObject({
      claude: '2.1.197',
      codex: '0.169.0',
      opencode: '1.18.33',
      kimi: '1.49.0',
      openclaw: '2026.3.1',
      shell: expect.any(String),
    });
  });

  it.each(['claude', 'codex', 'opencode', 'openclaw'])(
    'runs a %s session: normalised events, usage, the harness session id, exit 0',
    async (harness) => {
      const r = await cli(['session', 'start', '--harness', harness, '--prompt', 'add a greeting', '--follow']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim().length).toBeGreaterThan(0); // the agent's words
      const [s] = json<SessionView[]>(await cli(['session', 'ls', '--json', '--limit', '1']));
      expect(s).toMatchObject({ harness, status: 'succeeded' });
      expect(s!.harnessSessionId).toBeTruthy();
      const es = await events(s!.id);
      const kinds = new Set(normalised(es).map((e) => e.kind));
      expect(kinds.has('text')).toBe(true);
      expect(es.some((e) => e.kind === 'usage' && (e.meta?.usage?.input ?? 0) > 0)).toBe(true);
      expect(normalised(es).filter((e) => e.kind === 'raw')).toEqual([]);
      // The prompt reached the CLI, never as a secret-bearing argv: on stdin or as the message.
      const call = fakes.calls(harness).at(-1)!;
      expect(JSON.stringify(call.stdin) + call.argv.join(' ')).toContain('add a greeting');
    },
  );

  it('round-trips Kimi approvals through the control plane and the CLI', async () => {
    const started = await cli(['session', 'start', '--harness', 'kimi', '--prompt', 'write a test and run it']);
    const id = started.stdout.trim();
    const pendingOne = async () => {
      const list = json<{ requestId: string; status: string; tool: string }[]>(
        await cli(['session', 'approvals', id, '--json']),
      );
      return list.find((a) => a.status === 'pending') ?? null;
    };
    const first = await until(pendingOne, 60_000, 'the first approval request');
    expect(first.tool).toBe('WriteFile');
    expect((await cli(['session', 'approve', id, first.requestId])).stdout).toContain('allowed');
    const second = await until(
      async () => {
        const p = await pendingOne();
        return p && p.requestId !== first.requestId ? p : null;
      },
      60_000,
      'the second',
    );
    expect(second.tool).toBe('Shell');
    expect((await cli(['session', 'deny', id, second.requestId, '--reason', 'not on my machine'])).stdout).toContain(
      'denied',
    );
    await until(async () => (await show(id)).status === 'succeeded', 60_000, 'the session to end');

    const answers = fakes
      .calls('kimi')
      .at(-1)!
      .stdin.slice(2)
      .map((l) => JSON.parse(l) as { result: { response: string; feedback?: string } });
    expect(answers.map((a) => a.result.response)).toEqual(['approve', 'reject']);
    expect(answers[1]!.result.feedback).toBe('not on my machine');
    const again = await cli(['session', 'approve', id, first.requestId]);
    expect(again.code).toBe(1);
  });

  it('queues input a CLI cannot take live and runs it as a resumed turn', async () => {
    const thread = (JSON.parse(lines('codex/exec-full.jsonl')[0]!) as { thread_id: string }).thread_id;
    // The first turn stops after its thread id and goes on only once the input is queued on the device:
    // no window that two CLI start-ups on a busy machine must fit in.
    fakes.script('codex', [
      { readUntilEof: true },
      { when: 'resume', steps: [{ replay: fixture('codex/exec-resume.jsonl') }, { exit: 0 }] },
      { replay: fixture('codex/exec-full.jsonl'), to: 1 },
      { gate: 'codex-input-queued' },
      { replay: fixture('codex/exec-full.jsonl'), from: 1 },
    ]);
    const before = fakes.calls('codex').length;
    const id = (await cli(['session', 'start', '--harness', 'codex', '--prompt', 'first'])).stdout.trim();
    await until(async () => (await show(id)).harnessSessionId === thread, 60_000, 'the thread id');
    expect((await cli(['session', 'send', id, 'and then the docs'])).code).toBe(0);
    await until(
      async () =>
        normalised(await events(id)).some(
          (e) => e.kind === 'status' && (e as { status?: string }).status === 'input_queued',
        ),
      60_000,
      'the input to be queued',
    );
    expect((await show(id)).status).toBe('running');
    fakes.open('codex-input-queued');
    await until(async () => (await show(id)).status === 'succeeded', 60_000, 'both turns');
    const calls = fakes.calls('codex').slice(before);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.argv).toContain('resume');
    expect(calls[1]!.argv).toContain(thread);
    expect(calls[1]!.stdin.join('\n')).toContain('and then the docs');
  });

  it('resumes a finished session with a new prompt on the same device', async () => {
    const [last] = json<SessionView[]>(await cli(['session', 'ls', '--json', '--limit', '1']));
    const r = await cli(['session', 'resume', last!.id, '--prompt', 'one more thing', '--follow']);
    expect(r.code, r.stderr).toBe(0);
    const [resumed] = json<SessionView[]>(await cli(['session', 'ls', '--json', '--limit', '1']));
    expect(resumed).toMatchObject({
      parentId: last!.id,
      harness: 'codex',
      deviceId: last!.deviceId,
      status: 'succeeded',
    });
    expect(fakes.calls('codex').at(-1)!.argv).toContain(last!.harnessSessionId);
  });

  it('cancels an agent mid-turn', async () => {
    fakes.script('opencode', [
      { readUntilEof: true },
      { replay: fixture('opencode/run-full.jsonl'), to: 2 },
      { sleep: 30_000 },
    ]);
    const id = (await cli(['session', 'start', '--harness', 'opencode', '--prompt', 'take your time'])).stdout.trim();
    await until(async () => (await show(id)).status === 'running', 60_000, 'running');
    expect((await cli(['session', 'cancel', id])).code).toBe(0);
    const done = await until(
      async () => {
        const s = await show(id);
        return s.status === 'cancelled' ? s : null;
      },
      60_000,
      'cancelled',
    );
    expect(done.signal).toBe('SIGINT');
  });

  it("shows every harness's tokens in the fuel meter", async () => {
    const fuel = json<{
      yield: { tokens: number; sessionsSucceeded: number };
      byHarness: { key: string; yield: { tokens: number } }[];
    }>(await cli(['fuel', '--json']));
    const byHarness = Object.fromEntries(fuel.byHarness.map((h) => [h.key, h.yield.tokens]));
    for (const h of ['claude', 'codex', 'opencode', 'kimi', 'openclaw']) expect(byHarness[h], h).toBeGreaterThan(0);
    expect(fuel.yield.sessionsSucceeded).toBeGreaterThanOrEqual(6);
    const human = await cli(['fuel']);
    expect(human.stdout).toMatch(/THROUGHPUT\s+[\d,]+ tok\/min/);
    expect(human.stdout).toMatch(/YIELD\s+\d+ session\(s\) succeeded today/);
    expect(human.stdout).toContain('HARNESS');
  });
});

import { mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { SessionStartPayload } from '@fabric/protocol';
import { cleanupsAfterEach, EnvelopeRecorder } from '../../test/harness-kit.js';
import { defaultAdapters } from './harness/registry.js';
import { SessionRunner } from './runner.js';
import { detectSandbox, Sandbox } from './sandbox/sandbox.js';

const cleanups = cleanupsAfterEach();

/** Every case runs twice: spawned bare, and inside real bubblewrap (the daemon's way). */
const sandboxStatus = detectSandbox();
let sandboxed = false;

function setup(opts: { allowlist?: string[]; graceMs?: number; adapters?: ReturnType<typeof defaultAdapters> } = {}) {
  const workDir = mkdtempSync(join(tmpdir(), 'fabric-runner-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'fabric-runner-data-'));
  const recorder = new EnvelopeRecorder();
  const runner = new SessionRunner({
    adapters: opts.adapters ?? defaultAdapters(),
    allowlist: opts.allowlist ?? ['echo', 'cat', 'sleep', 'pwd', 'false', 'ls'],
    workDir,
    dataDir,
    ...(sandboxed ? { sandbox: new Sandbox({ status: sandboxStatus, mode: 'required', dataDir }) } : {}),
    emit: recorder.emit,
    graceMs: opts.graceMs ?? 200,
  });
  cleanups.push(async () => {
    await runner.stopAll();
    rmSync(workDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { runner, recorder, workDir };
}

let counter = 0;
function start(runner: SessionRunner, prompt: string, extra: Partial<SessionStartPayload> = {}): string {
  const sessionId = `ses_runner${String(++counter).padStart(4, '0')}`;
  runner.start({ sessionId, harness: 'shell', prompt, cwd: null, labels: {}, ...extra });
  return sessionId;
}

/**
 * A later positive signal: the runner starts, and runs to its exit, one more
 * session. Whatever it was going to emit for an earlier session (a late ack,
 * a second exit) it has emitted by then, so a test can assert that the
 * unwanted envelope did not come, without sleeping for a guessed while.
 */
async function runsAnother(runner: SessionRunner, recorder: EnvelopeRecorder): Promise<void> {
  const marker = start(runner, 'echo marker');
  expect((await recorder.next('session.exit', marker)).payload.code).toBe(0);
  expect(recorder.stdout(marker)).toBe('marker\n');
}

for (const mode of ['bare', 'in bubblewrap'] as const)
  describe(`SessionRunner (${mode})`, () => {
    beforeEach(() => {
      sandboxed = mode === 'in bubblewrap';
      if (sandboxed)
        expect(sandboxStatus, 'this machine must be able to run bubblewrap').toMatchObject({ available: true });
    });

    it('runs `echo hello`: ack, then its output, then exit 0 last', async () => {
      const { runner, recorder } = setup();
      const id = start(runner, 'echo hello');
      const exit = await recorder.next('session.exit', id);

      expect(exit.payload).toEqual({ sessionId: id, code: 0, signal: null });
      expect(recorder.stdout(id)).toBe('hello\n');
      const types = recorder.types(id);
      expect(types[0]).toBe('session.ack');
      expect(types.at(-1)).toBe('session.exit');
      expect(types.filter((t) => t === 'session.exit')).toHaveLength(1);
      expect(new Set(types.slice(1, -1))).toEqual(new Set(['session.stdout']));
      const ack = await recorder.next('session.ack', id);
      expect(ack.payload.pid).toBeGreaterThan(0);
      expect(ack).toMatchObject({ corrId: id, direction: 'to_cloud' });
    });

    it("reports a failing command's exit code and its stderr", async () => {
      const { runner, recorder } = setup();
      const id = start(runner, 'ls /definitely/not/a/real/path');
      const exit = await recorder.next('session.exit', id);
      expect(exit.payload.code).not.toBe(0);
      expect(exit.payload.signal).toBeNull();
      // stderr may arrive in several chunks; all of it precedes the exit.
      const stderr = recorder.envelopes
        .filter((e) => e.type === 'session.stderr' && e.payload.sessionId === id)
        .map((e) => (e.payload as { data: string }).data)
        .join('');
      expect(stderr).toContain('/definitely/not/a/real/path');

      const other = start(runner, 'false');
      expect((await recorder.next('session.exit', other)).payload.code).toBe(1);
    });

    it('refuses a command that is not on the allowlist, without starting anything', async () => {
      const { runner, recorder } = setup({ allowlist: ['echo'] });
      const id = start(runner, 'rm -rf /tmp/nothing-here');
      const refuse = await recorder.next('session.refuse', id);
      expect(refuse.payload.code).toBe('command_not_allowed');
      expect(refuse.payload.message).toContain('"rm"');
      await runsAnother(runner, recorder);
      expect(recorder.types(id)).toEqual(['session.refuse']);
      expect(runner.running()).toEqual([]);
    });

    it('refuses with spawn_failed an allowlisted program that is not installed', async () => {
      const { runner, recorder } = setup({ allowlist: ['definitely-not-a-real-binary', 'echo'] });
      const id = start(runner, 'definitely-not-a-real-binary --flag');
      const refuse = await recorder.next('session.refuse', id);
      expect(refuse.payload.code).toBe('spawn_failed');
      expect(refuse.payload.message).toContain('definitely-not-a-real-binary');
      await runsAnother(runner, recorder);
      expect(recorder.types(id)).toEqual(['session.refuse']);
      expect(runner.running()).toEqual([]);
    });

    it('refuses with bad_request a working directory that does not exist', async () => {
      const { runner, recorder, workDir } = setup();
      const id = start(runner, 'echo hi', { cwd: join(workDir, 'missing') });
      const refuse = await recorder.next('session.refuse', id);
      expect(refuse.payload.code).toBe('bad_request');
      expect(refuse.payload.message).toContain('missing');
      expect(recorder.types(id)).toEqual(['session.refuse']);
    });

    it('refuses a harness this device does not have', async () => {
      const { runner, recorder } = setup({ adapters: new Map([['shell', defaultAdapters().get('shell')!]]) });
      const id = start(runner, 'fix it', { harness: 'claude' });
      expect((await recorder.next('session.refuse', id)).payload.code).toBe('harness_unavailable');
    });

    it('runs the program without a shell, so metacharacters are plain arguments', async () => {
      const { runner, recorder } = setup();
      const id = start(runner, 'echo hi; ls');
      await recorder.next('session.exit', id);
      expect(recorder.stdout(id)).toBe('hi; ls\n');

      const other = start(runner, 'echo $HOME `whoami` | cat > /tmp/x');
      await recorder.next('session.exit', other);
      expect(recorder.stdout(other)).toBe('$HOME `whoami` | cat > /tmp/x\n');
    });

    it('runs in its own work directory when the session names no cwd, and in the cwd when it does', async () => {
      const { runner, recorder, workDir } = setup();
      const here = start(runner, 'pwd');
      await recorder.next('session.exit', here);
      expect(realpathSync(recorder.stdout(here).trim())).toBe(realpathSync(join(workDir, here)));
      expect(statSync(join(workDir, here)).mode & 0o777).toBe(0o700);

      const project = mkdtempSync(join(tmpdir(), 'fabric-project-'));
      cleanups.push(() => rmSync(project, { recursive: true, force: true }));
      const there = start(runner, 'pwd', { cwd: project, byDeviceOwner: true });
      await recorder.next('session.exit', there);
      expect(realpathSync(recorder.stdout(there).trim())).toBe(realpathSync(project));
    });

    it('refuses a NUL byte in the prompt with bad_request, and runs the next session', async () => {
      const { runner, recorder } = setup();
      const bad = start(runner, 'echo a\u0000b');
      const refuse = await recorder.next('session.refuse', bad);
      expect(refuse.payload.code).toBe('bad_request');
      expect(refuse.payload.message).toContain('NUL');
      expect(runner.running()).toEqual([]);

      const good = start(runner, 'echo next');
      expect((await recorder.next('session.exit', good)).payload.code).toBe(0);
      expect(recorder.stdout(good)).toBe('next\n');
    });

    it('feeds input to the program and closes its stdin on eof', async () => {
      const { runner, recorder } = setup();
      const id = start(runner, 'cat');
      await recorder.next('session.ack', id);
      runner.input(id, 'first line\n', false);
      runner.input(id, 'second', true);
      const exit = await recorder.next('session.exit', id);
      expect(exit.payload.code).toBe(0);
      expect(recorder.stdout(id)).toBe('first line\nsecond');
    });

    it('keeps input and eof sent before the process has even started', async () => {
      const { runner, recorder } = setup();
      const id = start(runner, 'cat');
      runner.input(id, 'early\n', true);
      const exit = await recorder.next('session.exit', id);
      expect(exit.payload.code).toBe(0);
      expect(recorder.stdout(id)).toBe('early\n');
    });

    it('honours a cancel that arrives before the process has started', async () => {
      const { runner, recorder } = setup();
      const id = start(runner, 'sleep 30');
      void runner.cancel(id);
      const exit = await recorder.next('session.exit', id);
      expect(exit.payload.signal).toBe('SIGINT');
    });

    it('starts a session once even if the start arrives twice at once', async () => {
      const { runner, recorder } = setup();
      const id = start(runner, 'echo once');
      runner.start({ sessionId: id, harness: 'shell', prompt: 'echo once', cwd: null, labels: {} });
      await recorder.next('session.exit', id);
      await runsAnother(runner, recorder);
      expect(recorder.types(id)).toEqual(['session.ack', 'session.stdout', 'session.exit']);
    });

    it('ignores input for a session it does not run', () => {
      const { runner, recorder } = setup();
      runner.input('ses_nosuchsession', 'hello', true);
      expect(recorder.envelopes).toEqual([]);
    });

    it('lists a live session in running() and drops it once it exits', async () => {
      const { runner, recorder } = setup();
      const before = Date.now();
      const id = start(runner, 'cat');
      const ack = await recorder.next('session.ack', id);
      expect(runner.running()).toEqual([{ sessionId: id, pid: ack.payload.pid, startedAt: expect.any(Number) }]);
      expect(runner.running()[0]!.startedAt).toBeGreaterThanOrEqual(before);
      expect(runner.size).toBe(1);

      runner.input(id, '', true);
      await recorder.next('session.exit', id);
      expect(runner.running()).toEqual([]);
      expect(runner.size).toBe(0);
    });

    it('ignores a duplicate start of a session that is already running', async () => {
      const { runner, recorder } = setup();
      const id = start(runner, 'cat');
      await recorder.next('session.ack', id);
      runner.start({ sessionId: id, harness: 'shell', prompt: 'cat', cwd: null, labels: {} });
      expect(runner.size).toBe(1);
      // The one `cat` ends on eof; a second process would show as a second ack or exit.
      runner.input(id, '', true);
      await recorder.next('session.exit', id);
      await runsAnother(runner, recorder);
      expect(recorder.types(id)).toEqual(['session.ack', 'session.exit']);
      expect(runner.size).toBe(0);
    });

    describe('cancel', () => {
      it('stops `sleep 30` with SIGINT at once', async () => {
        const { runner, recorder } = setup({ graceMs: 10_000 });
        const id = start(runner, 'sleep 30');
        await recorder.next('session.ack', id);
        const t0 = Date.now();
        await runner.cancel(id);
        const exit = await recorder.next('session.exit', id);
        expect(exit.payload).toEqual({ sessionId: id, code: null, signal: 'SIGINT' });
        // Sent at once: a SIGINT held back until the grace period would come after 10 s.
        expect(Date.now() - t0).toBeLessThan(10_000);
        expect(runner.running()).toEqual([]);
      });

      it('kills a program that ignores SIGINT and SIGTERM with SIGKILL after twice the grace period', async () => {
        const { runner, recorder } = setup({ allowlist: ['node'], graceMs: 200 });
        const id = start(
          runner,
          `node -e "process.on('SIGINT',()=>{});process.on('SIGTERM',()=>{});console.log('ready');setInterval(()=>{},1000)"`,
        );
        await recorder.next('session.ack', id);
        // Cancel only once its handlers are in place, or SIGINT would simply end it.
        await recorder.until('its handlers', () => recorder.stdout(id).includes('ready'));

        const t0 = Date.now();
        await runner.cancel(id);
        const elapsed = Date.now() - t0;
        const exit = await recorder.next('session.exit', id);
        expect(exit.payload).toEqual({ sessionId: id, code: null, signal: 'SIGKILL' });
        expect(elapsed).toBeGreaterThanOrEqual(2 * 200 - 20);
        expect(elapsed).toBeLessThan(2000);
      });

      it('lets a program that handles SIGINT finish in its own time and reports its own exit code', async () => {
        const { runner, recorder } = setup({ allowlist: ['node'], graceMs: 3000 });
        const id = start(
          runner,
          `node -e "process.on('SIGINT',()=>setTimeout(()=>{console.log('tidied');process.exit(3)},300));console.log('ready');setInterval(()=>{},1000)"`,
        );
        await recorder.next('session.ack', id);
        await recorder.until('its handlers', () => recorder.stdout(id).includes('ready'));

        await runner.cancel(id);
        const exit = await recorder.next('session.exit', id);
        expect(exit.payload).toEqual({ sessionId: id, code: 3, signal: null });
        expect(recorder.stdout(id)).toContain('tidied');
      });

      it('resolves at once for a session it does not run', async () => {
        const { runner } = setup();
        await expect(runner.cancel('ses_nosuchsession')).resolves.toBeUndefined();
      });

      it('stops every session on stopAll()', async () => {
        const { runner, recorder } = setup();
        const a = start(runner, 'sleep 30');
        const b = start(runner, 'sleep 30');
        await recorder.next('session.ack', a);
        await recorder.next('session.ack', b);
        await runner.stopAll();
        expect((await recorder.next('session.exit', a)).payload.signal).toBe('SIGINT');
        expect((await recorder.next('session.exit', b)).payload.signal).toBe('SIGINT');
        expect(runner.running()).toEqual([]);
      });
    });
  });

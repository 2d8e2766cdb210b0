import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SessionView } from '@fabric/protocol';
import { Proc, optimal, tempDir } from './procs.js';

/**
 * Session isolation through the real command: `optimal up` with bubblewrap
 * (this machine has it), and with bubblewrap "missing" (FABRIC_BWRAP names
 * a file that does not exist), in `auto` and `required` mode.
 */
const dirs: ReturnType<typeof tempDir>[] = [];
const procs: Proc[] = [];

afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  for (const d of dirs) d.remove();
});

async function up(args: string[] = [], env: Record<string, string> = {}) {
  const D = tempDir('sandbox');
  dirs.push(D);
  const p = new Proc(['up', '--data', D.path, '--port', '0', '--allow', 'cat,ls,sh,pwd', ...args], env);
  procs.push(p);
  await p.waitFor(/device online/, 30_000);
  const cli = (a: string[]) => optimal([...a, '--data', D.path], { timeoutMs: 30_000 });
  const session = async (prompt: string, extra: string[] = []) => {
    const r = await cli(['session', 'start', '--harness', 'shell', '--prompt', prompt, '--follow', ...extra]);
    const [view] = JSON.parse((await cli(['session', 'ls', '--json', '--limit', '1'])).stdout) as SessionView[];
    return { ...r, view: view! };
  };
  return { dir: D.path, proc: p, cli, session };
}

describe('optimal up on a machine with bubblewrap', () => {
  it("says sessions are isolated and an owner's own session cannot read the data dir", async () => {
    const u = await up();
    expect(u.proc.stdout).toContain('isolation: bwrap');
    const r = await u.session(
      `cat ${join(u.dir, 'cli.json')} ${join(u.dir, 'agent.token')} ${join(u.dir, 'device.json')}`,
    );
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('No such file');
    const escape = await u.session(`sh -c 'echo planted > ${join(u.dir, 'planted')}'`);
    expect(escape.code).not.toBe(0);
    const ok = await u.session("sh -c 'echo mine > mine.txt && cat mine.txt'");
    expect(ok.stdout).toBe('mine\n');
    expect(ok.code).toBe(0);
  }, 90_000);

  it('refuses a session whose cwd is / or the data dir with path_not_allowed', async () => {
    const u = await up();
    for (const cwd of ['/', u.dir]) {
      const r = await u.session('pwd', ['--cwd', cwd]);
      expect(r.code, cwd).not.toBe(0);
      expect(r.view.status).toBe('refused');
      expect(r.stderr, cwd).toContain('path_not_allowed');
    }
  }, 90_000);
});

describe('optimal up where no sandbox can be made', () => {
  const missing = { FABRIC_BWRAP: '/nonexistent/bwrap' };

  it("warns in the banner and in status, and still runs the owner's own sessions", async () => {
    const u = await up([], missing);
    expect(u.proc.stdout).toContain('isolation: none — install bubblewrap');
    expect(u.proc.stdout).toContain('apt-get install bubblewrap');
    const status = await u.cli(['status']);
    expect(status.stdout).toMatch(/: isolation: none — install bubblewrap\n/);
    writeFileSync(join(u.dir, 'note.txt'), 'visible unisolated\n');
    const r = await u.session(`cat ${join(u.dir, 'note.txt')}`);
    expect(r.stdout).toBe('visible unisolated\n');
    expect(r.code).toBe(0);
  }, 90_000);

  it("refuses even the owner's sessions with --sandbox required", async () => {
    const u = await up(['--sandbox', 'required'], missing);
    expect(u.proc.stdout).toContain('isolation: none — install bubblewrap (no session will run');
    const r = await u.session('pwd');
    expect(r.code).not.toBe(0);
    expect(r.view.status).toBe('refused');
    expect(r.view.errorCode).toBe('sandbox_unavailable');
    expect(r.stderr).toContain('install bubblewrap: apt-get install bubblewrap');
  }, 90_000);
});

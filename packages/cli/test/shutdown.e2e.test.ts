import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Proc, optimal, readJson, tempDir, until } from './procs.js';

/**
 * SIGTERM: each long-running command says in one line what it stops, and
 * is gone within 2 s, a running session included.
 */
const dirs: Array<ReturnType<typeof tempDir>> = [];
const procs: Proc[] = [];

afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  for (const d of dirs) d.remove();
});

function start(args: string[], env: Record<string, string> = {}): Proc {
  const p = new Proc(args, env);
  procs.push(p);
  return p;
}

/** SIGTERM, and the milliseconds until the process has exited (its exit event, not a poll). */
async function terminate(p: Proc): Promise<{ ms: number; code: number | null }> {
  const at = performance.now();
  const code = await p.kill('SIGTERM');
  return { ms: performance.now() - at, code };
}

describe('SIGTERM', () => {
  it('stops optimal up with a running session in under 2 s, saying what it stops', async () => {
    const D = tempDir('shutdown-up');
    dirs.push(D);
    const up = start(['up', '--data', D.path, '--port', '0', '--allow', 'sleep'], { FABRIC_BWRAP: '/nonexistent/bwrap' });
    await up.waitFor(/device online/, 60_000);
    const started = await optimal(['session', 'start', '--harness', 'shell', '--prompt', 'sleep 300', '--data', D.path], { timeoutMs: 60_000 });
    expect(started.code, started.stderr).toBe(0);
    // Running: its process is in the daemon's record.
    await until(async () => readJson<{ sessions: unknown[] }>(join(D.path, 'procs.json')).sessions.length === 1, 30_000, 'the session to run');
    const { ms, code } = await terminate(up);
    expect(code).toBe(0);
    expect(up.stderr).toContain('stopping: 1 session, the device, the control plane…\n');
    expect(ms).toBeLessThan(2000);
  }, 120_000);

  it('stops optimal serve in under 2 s, saying so', async () => {
    const D = tempDir('shutdown-serve');
    dirs.push(D);
    const serve = start(['serve', '--data', D.path, '--port', '0']);
    await serve.waitFor(/listening on/, 60_000);
    const { ms, code } = await terminate(serve);
    expect(code).toBe(0);
    expect(serve.stderr).toContain('stopping: the control plane…\n');
    expect(ms).toBeLessThan(2000);
  }, 120_000);
});

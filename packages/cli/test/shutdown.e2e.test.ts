import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Proc, optimal, readJson, tempDir, until } from './procs.js';

/**
 * SIGTERM: each long-running command says in one line what it stops, and
 * is gone within 2 s, a running session included.
 */
const dirs: ReturnType<typeof tempDir>[] = [];
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
    const up = start(['up', '--data', D.path, '--port', '0', '--allow', 'sleep'], {
      FABRIC_BWRAP: '/nonexistent/bwrap',
    });
    await up.waitFor(/device online/, 60_000);
    const started = await optimal(
      ['session', 'start', '--harness', 'shell', '--prompt', 'sleep 300', '--data', D.path],
      { timeoutMs: 60_000 },
    );
    expect(started.code, started.stderr).toBe(0);
    // Running: its process is in the daemon's record.
    await until(
      async () => readJson<{ sessions: unknown[] }>(join(D.path, 'procs.json')).sessions.length === 1,
      30_000,
      'the session to run',
    );
    const { ms, code } = await terminate(up);
    expect(code, `ended by ${up.signal}; stderr:\n${up.stderr}`).toBe(0);
    expect(up.stderr).toContain('stopping: 1 session, the device, the control plane…\n');
    expect(ms).toBeLessThan(2000);
  }, 120_000);

  it('stops optimal serve in under 2 s, saying so', async () => {
    const D = tempDir('shutdown-serve');
    dirs.push(D);
    const serve = start(['serve', '--data', D.path, '--port', '0']);
    // Its last start-up line: the signal handlers are in place from the same tick.
    await serve.waitFor(/no owner yet/, 60_000);
    const { ms, code } = await terminate(serve);
    expect(code, `ended by ${serve.signal}; stderr:\n${serve.stderr}`).toBe(0);
    expect(serve.stderr).toContain('stopping: the control plane…\n');
    expect(ms).toBeLessThan(2000);
  }, 120_000);

  it('stops optimal device in under 2 s, saying so', async () => {
    const A = tempDir('shutdown-cp');
    const B = tempDir('shutdown-device');
    const C = tempDir('shutdown-cli');
    dirs.push(A, B, C);
    const serve = start(['serve', '--data', A.path, '--port', '0']);
    const url = (await serve.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 60_000))[1]!;
    const setup = JSON.parse((await optimal(['invite', '--data', A.path, '--json'], { timeoutMs: 60_000 })).stdout) as {
      code: string;
    };
    const login = await optimal(
      ['login', '--server', url, '--user', 'ada', '--code', setup.code, '--password-stdin', '--data', C.path],
      { input: 'correct horse battery staple', timeoutMs: 60_000 },
    );
    expect(login.code, login.stderr).toBe(0);
    const pairing = JSON.parse((await optimal(['pair', '--json', '--data', C.path], { timeoutMs: 60_000 })).stdout) as {
      code: string;
    };
    expect(
      (await optimal(['pair', '--server', url, '--token', pairing.code, '--data', B.path], { timeoutMs: 60_000 })).code,
    ).toBe(0);
    const device = start(['device', '--data', B.path]);
    await device.waitFor(/device online/, 60_000);
    const { ms, code } = await terminate(device);
    expect(code, `ended by ${device.signal}; stderr:\n${device.stderr}`).toBe(0);
    expect(device.stderr).toContain('stopping: 0 sessions, the device…\n');
    expect(ms).toBeLessThan(2000);
  }, 180_000);
});

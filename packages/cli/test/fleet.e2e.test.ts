import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceView, SessionView, StreamEvent } from '@fabric/protocol';
import { Proc, optimal, readJson, tempDir, until } from './procs.js';

/**
 * The multi-machine path from the README, with real processes on loopback:
 * a control plane (data dir A), a CLI signed in as the owner (C), and two
 * paired devices (B1 "alpha", B2 "beta") in their own data dirs.
 */
const A = tempDir('server');
const B1 = tempDir('alpha');
const B2 = tempDir('beta');
const C = tempDir('cli');
const procs: Proc[] = [];
let server: Proc;
let alpha: Proc;
let beta: Proc;
let url = '';
let port = 0;

const cli = (args: string[], input?: string) =>
  optimal([...args, '--data', C.path], input === undefined ? {} : { input });
const token = () => readJson<{ token: string }>(join(C.path, 'cli.json')).token;
const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
  const res = await fetch(url + path, {
    ...init,
    headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json', ...init.headers },
  });
  return (await res.json()) as T;
};
const session = (id: string) => api<SessionView>(`/api/sessions/${id}`);

function start(args: string[]): Proc {
  const p = new Proc(args);
  procs.push(p);
  return p;
}

/** `optimal serve` on `atPort` (0: any); a port the killed one still holds is retried, never waited out. */
async function startServer(atPort = 0): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    server = start(['serve', '--data', A.path, '--port', String(atPort)]);
    try {
      const m = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:(\d+))/, 30_000);
      url = m[1]!;
      port = Number(m[2]);
      return;
    } catch (err) {
      if (attempt < 50 && /EADDRINUSE|port_in_use/.test(server.stdout + server.stderr)) continue;
      throw err;
    }
  }
}

beforeAll(async () => {
  await startServer();

  const invite = await optimal(['invite', '--data', A.path, '--json']);
  expect(invite.code).toBe(0);
  const setup = JSON.parse(invite.stdout) as { code: string; kind: string };
  expect(setup.kind).toBe('setup');

  const login = await optimal(
    ['login', '--server', url, '--user', 'ada', '--code', setup.code, '--password-stdin', '--data', C.path],
    { input: 'correct horse battery\n' },
  );
  expect(login.stderr).toBe('');
  expect(login.code).toBe(0);
  expect(statSync(join(C.path, 'cli.json')).mode & 0o777).toBe(0o600);

  for (const [dir, name] of [
    [B1.path, 'alpha'],
    [B2.path, 'beta'],
  ] as const) {
    const pt = await cli(['pair', '--json']);
    expect(pt.code).toBe(0);
    const pairing = JSON.parse(pt.stdout) as { code: string };
    const paired = await optimal(['pair', '--server', url, '--token', pairing.code, '--name', name, '--data', dir]);
    expect(paired.code).toBe(0);
    expect(statSync(join(dir, 'device.json')).mode & 0o777).toBe(0o600);
  }
  alpha = start(['device', '--data', B1.path, '--allow', 'echo,sleep,cat,ls,node']);
  beta = start(['device', '--data', B2.path, '--allow', 'echo,sleep', '--label', 'zone=b']);
  await alpha.waitFor(/device online/);
  await beta.waitFor(/device online/);
}, 60_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  for (const d of [A, B1, B2, C]) d.remove();
});

describe('a fleet of two devices on loopback', () => {
  it('shows both devices online with RAM, load and harnesses', async () => {
    const r = await cli(['status', '--json']);
    expect(r.code).toBe(0);
    const status = JSON.parse(r.stdout) as { devices: DeviceView[] };
    expect(status.devices.map((d) => [d.name, d.online])).toEqual([
      ['alpha', true],
      ['beta', true],
    ]);
    const b = status.devices.find((d) => d.name === 'beta')!;
    expect(b.capabilities?.ramTotal).toBeGreaterThan(0);
    expect(b.capabilities?.harnesses.map((h) => h.name)).toContain('shell');
    expect(b.capabilities?.allowlist).toEqual(['echo', 'sleep']);
    expect(b.capabilities?.labels).toEqual({ zone: 'b' });
    const human = await cli(['status']);
    expect(human.stdout).toMatch(/alpha\s+dev_\S+\s+online/);
  });

  it('routes a shell session to the named device and streams its output', async () => {
    const r = await cli([
      'session',
      'start',
      '--harness',
      'shell',
      '--device',
      'beta',
      '--prompt',
      'echo hello from beta',
      '--follow',
    ]);
    expect(r.stdout).toBe('hello from beta\n');
    expect(r.code).toBe(0);
    const [s] = (await api<{ sessions: SessionView[] }>('/api/sessions?limit=1')).sessions;
    expect(s).toMatchObject({ deviceName: 'beta', status: 'succeeded', exitCode: 0 });

    const labelled = await cli(['session', 'start', '--label', 'zone=b', '--prompt', 'echo by label', '--json']);
    const view = JSON.parse(labelled.stdout) as SessionView;
    expect(view.deviceName).toBe('beta');
  });

  it("exits with the command's own exit code", async () => {
    const r = await cli(['session', 'start', '--device', 'alpha', '--prompt', 'ls /definitely/not/here', '--follow']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('No such file or directory');
  });

  it("refuses a command that is not on the device's allowlist", async () => {
    const r = await cli(['session', 'start', '--device', 'beta', '--prompt', 'cat /etc/passwd', '--follow']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toMatch(/^optimal: command_not_allowed: "cat" is not on device beta's allowlist/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('resumes a dropped SSE stream with Last-Event-ID and loses nothing', async () => {
    const program = "let i=0;const t=setInterval(()=>{console.log('line '+i++);if(i===60)clearInterval(t)},5)";
    const started = await cli(['session', 'start', '--device', 'alpha', '--prompt', `node -e "${program}"`, '--json']);
    const { id } = JSON.parse(started.stdout) as SessionView;

    const events: StreamEvent[] = [];
    const read = async (lastEventId: number, stopAfter: number | null) => {
      const controller = new AbortController();
      const res = await fetch(`${url}/api/sessions/${id}/stream`, {
        headers: { authorization: `Bearer ${token()}`, 'last-event-id': String(lastEventId) },
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      let got = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          if (!data || frame.includes('event: end')) continue;
          events.push(JSON.parse(data.slice(6)) as StreamEvent);
          if (stopAfter !== null && ++got >= stopAfter) {
            controller.abort(); // the "network drop"
            return;
          }
        }
      }
    };
    await read(0, 5);
    await new Promise((r) => setTimeout(r, 150));
    await read(events[events.length - 1]!.seq, null);

    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const text = events
      .filter((e) => e.kind === 'stdout')
      .map((e) => e.data)
      .join('');
    expect(text).toBe(Array.from({ length: 60 }, (_, i) => `line ${i}\n`).join(''));
    expect(events[events.length - 1]).toMatchObject({ kind: 'exit', meta: { code: 0, status: 'succeeded' } });

    const logs = await cli(['session', 'logs', id]);
    expect(logs.stdout).toBe(text);
  });

  it('sends follow-up input to a running session', async () => {
    const started = await cli(['session', 'start', '--device', 'alpha', '--prompt', 'cat']);
    const id = started.stdout.trim();
    await until(async () => (await session(id)).status === 'running', 5000, 'running');
    expect((await cli(['session', 'send', id, 'ping'])).code).toBe(0);
    expect((await cli(['session', 'send', id, '--eof'])).code).toBe(0);
    const logs = await cli(['session', 'logs', id, '--follow']);
    expect(logs.stdout).toBe('ping\n');
    expect(logs.code).toBe(0);
  });

  it('cancels a running session', async () => {
    const started = await cli(['session', 'start', '--device', 'alpha', '--prompt', 'sleep 30']);
    const id = started.stdout.trim();
    await until(async () => (await session(id)).status === 'running', 20_000, 'running');
    const r = await cli(['session', 'cancel', id]);
    expect(r.code).toBe(0);
    const done = await until(
      async () => {
        const s = await session(id);
        return s.status === 'cancelled' ? s : null;
      },
      20_000,
      'cancelled',
    );
    // Ended by the first rung of the ladder (not SIGTERM or SIGKILL later, not the 30 s sleep running out).
    expect(done.signal).toBe('SIGINT');
    const again = await cli(['session', 'cancel', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^optimal: session_finished:/);
  });

  it('marks a session lost when its device is killed, fails it when the device returns without it', async () => {
    const started = await cli(['session', 'start', '--device', 'alpha', '--prompt', 'sleep 3']);
    const id = started.stdout.trim();
    await until(async () => (await session(id)).status === 'running', 5000, 'running');
    await alpha.kill('SIGKILL');
    await until(async () => (await session(id)).status === 'lost', 5000, 'lost');

    alpha = start(['device', '--data', B1.path, '--allow', 'echo,sleep,cat,ls,node']);
    await alpha.waitFor(/device online/);
    const failed = await until(
      async () => {
        const s = await session(id);
        return s.status === 'failed' ? s : null;
      },
      15_000,
      'failed',
    );
    // Either the device said hello without it (device_offline), or the restarted daemon first ended the
    // process its previous run left behind and reported that exit, which the control plane adopts.
    expect(failed.errorCode === 'device_offline' || failed.signal !== null).toBe(true);

    const r = await cli(['session', 'start', '--device', 'alpha', '--prompt', 'echo back', '--follow']);
    expect(r.stdout).toBe('back\n');
  });

  it('survives a control-plane crash: devices reconnect, a session running across it completes with all its output', async () => {
    // Ticks 0-14, then 15-29 only once the test sends input: the crash always lands mid-session.
    const program =
      "let i=0;const t=setInterval(()=>{console.log('tick '+i++);if(i===15){clearInterval(t);process.stdin.once('data',()=>{process.stdin.destroy();const u=setInterval(()=>{console.log('tick '+i++);if(i===30)clearInterval(u)},20)})}},100)";
    const started = await cli(['session', 'start', '--device', 'alpha', '--prompt', `node -e "${program}"`]);
    const id = started.stdout.trim();
    const follower = start(['session', 'logs', id, '--follow', '--data', C.path]);
    await follower.waitFor(/tick 3/, 30_000);

    await server.kill('SIGKILL');
    alpha.child.kill('SIGSTOP'); // hold the device back so the restarted plane sees it missing
    await startServer(port);
    expect((await session(id)).status).toBe('lost');
    alpha.child.kill('SIGCONT');
    await alpha.waitFor(/online as alpha[\s\S]*online as alpha/, 30_000);
    await until(async () => (await session(id)).status === 'running', 30_000, 'running again');
    expect((await cli(['session', 'send', id, 'go'])).code).toBe(0);

    expect(await follower.exited).toBe(0);
    expect(follower.stdout).toBe(Array.from({ length: 30 }, (_, i) => `tick ${i}\n`).join(''));
    expect((await session(id)).status).toBe('succeeded');

    await beta.waitFor(/online as beta[\s\S]*online as beta/, 20_000);
    const r = await cli(['session', 'start', '--device', 'beta', '--prompt', 'echo after restart', '--follow']);
    expect(r.stdout).toBe('after restart\n');
  }, 120_000);

  it('invites a member who signs in with a password but cannot manage devices', async () => {
    const invite = await cli(['invite', '--json']);
    expect(invite.code).toBe(0);
    const code = JSON.parse(invite.stdout) as { code: string; kind: string };
    expect(code.kind).toBe('invite');
    const M = tempDir('member');
    try {
      const redeem = await optimal(
        ['login', '--server', url, '--user', 'bob', '--code', code.code, '--password-stdin', '--data', M.path],
        { input: 'hunter22hunter22' },
      );
      expect(redeem.stdout).toContain('as bob (member)');
      const reuse = await optimal(
        ['login', '--server', url, '--user', 'eve', '--code', code.code, '--password-stdin', '--data', M.path],
        { input: 'whatever-long' },
      );
      expect(reuse.stderr).toMatch(/^optimal: invite_invalid:/);
      const wrong = await optimal(['login', '--server', url, '--user', 'bob', '--password-stdin', '--data', M.path], {
        input: 'not-his-password',
      });
      expect(wrong.stderr).toMatch(/^optimal: login_failed: wrong name or password/);
      const login = await optimal(['login', '--server', url, '--user', 'bob', '--password-stdin', '--data', M.path], {
        input: 'hunter22hunter22\n',
      });
      expect(login.code).toBe(0);
      // The owner's devices are not bob's until the owner shares one with him.
      const notYet = await optimal([
        'session',
        'start',
        '--device',
        'beta',
        '--prompt',
        'echo member',
        '--data',
        M.path,
      ]);
      expect(notYet.stderr).toMatch(/^optimal: device_not_found: no device beta/);
      const listed = await optimal(['devices', 'ls', '--json', '--data', M.path]);
      expect(JSON.parse(listed.stdout)).toEqual([]);
      const selfShare = await optimal(['devices', 'share', 'beta', '--with', 'bob', '--data', M.path]);
      expect(selfShare.stderr).toMatch(/^optimal: device_not_found:/);
      const share = await cli(['devices', 'share', 'beta', '--with', 'bob']);
      expect(share.stdout).toBe('beta is shared with bob\n');
      const run = await optimal([
        'session',
        'start',
        '--device',
        'beta',
        '--prompt',
        'echo member',
        '--follow',
        '--data',
        M.path,
      ]);
      expect(run.stdout).toBe('member\n');
      const rename = await optimal(['devices', 'rename', 'beta', 'nope', '--data', M.path]);
      expect(rename.stderr).toMatch(/^optimal: forbidden: you may not manage device beta/);
      const ownerSessions = await optimal(['session', 'ls', '--json', '--data', M.path]);
      expect((JSON.parse(ownerSessions.stdout) as SessionView[]).map((s) => s.prompt)).toEqual(['echo member']);
      const unshare = await cli(['devices', 'unshare', 'beta', '--with', 'bob']);
      expect(unshare.stdout).toBe('beta is no longer shared\n');
      const again = await optimal([
        'session',
        'start',
        '--device',
        'beta',
        '--prompt',
        'echo member',
        '--data',
        M.path,
      ]);
      expect(again.stderr).toMatch(/^optimal: device_not_found:/);
    } finally {
      M.remove();
    }
  });

  it('renames a device', async () => {
    const devices = (await api<{ devices: DeviceView[] }>('/api/devices')).devices;
    const a = devices.find((d) => d.name === 'alpha')!;
    expect((await cli(['devices', 'rename', a.id, 'alpha-2'])).stdout).toContain('is now alpha-2');
    expect(
      (await cli(['session', 'start', '--device', 'alpha-2', '--prompt', 'echo renamed', '--follow'])).stdout,
    ).toBe('renamed\n');
    await cli(['devices', 'rename', a.id, 'alpha']);
  });

  it('cuts a revoked device off at once and refuses it afterwards', async () => {
    const devices = (await api<{ devices: DeviceView[] }>('/api/devices')).devices;
    const b = devices.find((d) => d.name === 'beta')!;
    const r = await cli(['devices', 'revoke', b.id]);
    expect(r.code).toBe(0);
    expect(await beta.exited).toBe(1);
    expect(beta.stderr).toMatch(/optimal: device_revoked:/);

    const again = start(['device', '--data', B2.path]);
    expect(await again.exited).toBe(1);
    expect(again.stderr).toMatch(/optimal: device_revoked:/);

    const refused = await cli(['session', 'start', '--device', 'beta', '--prompt', 'echo x']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^optimal: device_revoked:/);
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView, StreamEvent } from '@fabric/protocol';
import { Proc, optimal, readJson, tempDir, until } from './procs.js';

/**
 * At least once from the device, exactly once in the store, with real
 * processes: a control plane and a device that are SIGKILLed mid-session.
 *
 * Sizes: FABRIC_DELIVERY_EVENTS lines (default 2,000) and
 * FABRIC_DELIVERY_KILLS control-plane kills (default 3) keep this under a
 * minute on a loaded 2-core machine; the full run is
 * `FABRIC_DELIVERY_EVENTS=10000 FABRIC_DELIVERY_KILLS=20 npx vitest run packages/cli/test/delivery.e2e.test.ts`.
 */
const EVENTS = Number(process.env.FABRIC_DELIVERY_EVENTS ?? 2000);
const KILLS = Number(process.env.FABRIC_DELIVERY_KILLS ?? 3);

const A = tempDir('server');
const B = tempDir('device');
const C = tempDir('cli');
const procs: Proc[] = [];
let server: Proc;
let device: Proc;
let url = '';
let port = 0;

const cli = (args: string[]) => optimal([...args, '--data', C.path]);
const token = () => readJson<{ token: string }>(join(C.path, 'cli.json')).token;
const api = async <T>(path: string): Promise<T> => {
  const res = await fetch(url + path, { headers: { authorization: `Bearer ${token()}` } });
  return (await res.json()) as T;
};
const session = (id: string) => api<SessionView>(`/api/sessions/${id}`);
const statusIs = (id: string, status: string) =>
  until(async () => (await session(id).catch(() => null))?.status === status, 30_000, status);

function start(args: string[]): Proc {
  const p = new Proc(args);
  procs.push(p);
  return p;
}

/** `optimal serve` on `atPort` (0: any); a port still held by the killed one is retried, not waited out. */
async function startServer(atPort = 0, flags: string[] = []): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    server = start(['serve', '--data', A.path, '--port', String(atPort), ...flags]);
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

function startDevice(): Proc {
  device = start(['device', '--data', B.path, '--allow', 'node']);
  return device;
}

/** Every stored event of a session, in order. */
async function storedEvents(id: string): Promise<StreamEvent[]> {
  const res = await fetch(`${url}/api/sessions/${id}/stream`, { headers: { authorization: `Bearer ${token()}` } });
  const text = await res.text();
  const out: StreamEvent[] = [];
  for (const frame of text.split('\n\n')) {
    const data = frame.split('\n').find((l) => l.startsWith('data: '));
    if (data && !frame.includes('event: end')) out.push(JSON.parse(data.slice(6)) as StreamEvent);
  }
  return out;
}

const expected = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}\n`).join('');

beforeAll(async () => {
  await startServer();
  const invite = await optimal(['invite', '--data', A.path, '--json']);
  const setup = JSON.parse(invite.stdout) as { code: string };
  const login = await optimal(
    ['login', '--server', url, '--user', 'ada', '--code', setup.code, '--password-stdin', '--data', C.path],
    { input: 'correct horse battery\n' },
  );
  expect(login.code).toBe(0);
  const pairing = JSON.parse((await cli(['pair', '--json'])).stdout) as { code: string };
  expect(
    (await optimal(['pair', '--server', url, '--token', pairing.code, '--name', 'solo', '--data', B.path])).code,
  ).toBe(0);
  startDevice();
  await device.waitFor(/device online/, 30_000);
}, 90_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  for (const d of [A, B, C]) d.remove();
});

describe('delivery across crashes', () => {
  it(
    `loses and repeats none of ${EVENTS} lines while the control plane is SIGKILLed ${KILLS} times at random points`,
    async () => {
      // N-1 lines at a steady pace, then the last one once the test says so on stdin: every kill lands mid-session.
      // (It exits from a write callback: process.exit may otherwise cut off what is still being written.)
      const program = `const nl=String.fromCharCode(10);let i=0;const t=setInterval(()=>{if(i<${EVENTS - 1}){console.log('line '+i++)}else{clearInterval(t);process.stdin.once('data',()=>process.stdout.write('line '+i+nl,()=>process.exit(0)))}},4)`;
      const started = await cli(['session', 'start', '--device', 'solo', '--prompt', `node -e "${program}"`]);
      expect(started.code).toBe(0);
      const id = started.stdout.trim();
      await statusIs(id, 'running');

      for (let k = 0; k < KILLS; k++) {
        await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 900)));
        await server.kill('SIGKILL');
        await startServer(port);
        await statusIs(id, 'running'); // the device is back and reclaimed it
      }
      expect((await cli(['session', 'send', id, 'go'])).code).toBe(0);
      await until(async () => (await session(id)).status === 'succeeded', 60_000, 'succeeded');

      const events = await storedEvents(id);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(
        events
          .filter((e) => e.kind === 'stdout')
          .map((e) => e.data)
          .join(''),
      ).toBe(expected(EVENTS));
      expect(events.filter((e) => e.kind === 'stderr')).toEqual([]);
      expect(events.filter((e) => e.kind === 'exit')).toHaveLength(1);
      expect((await cli(['session', 'logs', id])).stdout).toBe(expected(EVENTS));
    },
    60_000 + KILLS * 40_000 + EVENTS * 10,
  );

  it('adopts a session the device ran to its end while the control plane was down, even across a daemon SIGKILL', async () => {
    // The lines come once the control plane is gone, and only the device's outbox file holds them.
    // It starts writing 3 s after its input, by when the test has killed the control plane.
    const program = `const nl=String.fromCharCode(10);process.stdin.once('data',()=>setTimeout(()=>{for(let i=0;i<${EVENTS};i++)process.stdout.write('line '+i+nl);process.stdout.write('',()=>process.exit(0))},3000))`;
    const started = await cli(['session', 'start', '--device', 'solo', '--prompt', `node -e "${program}"`]);
    const id = started.stdout.trim();
    await statusIs(id, 'running');
    // The input is on its way to the device once `send` returns (written to the device's socket first).
    expect((await cli(['session', 'send', id, 'go'])).code).toBe(0);
    await server.kill('SIGKILL');
    const outbox = join(B.path, 'outbox.jsonl');
    const exitWritten = () =>
      existsSync(outbox) &&
      readFileSync(outbox, 'utf8')
        .split('\n')
        .some((l) => l.includes('"session.exit"') && l.includes(id));
    await until(async () => exitWritten(), 30_000, 'the exit in the outbox file');
    await device.kill('SIGKILL');

    startDevice();
    await startServer(port);
    const done = await until(
      async () => {
        const s = await session(id);
        return s.status === 'succeeded' ? s : null;
      },
      60_000,
      'succeeded',
    );
    expect(done.exitCode).toBe(0);
    const events = await storedEvents(id);
    expect(
      events
        .filter((e) => e.kind === 'stdout')
        .map((e) => e.data)
        .join(''),
    ).toBe(expected(EVENTS));
    expect((await cli(['session', 'logs', id])).stdout).toBe(expected(EVENTS));
    expect(device.stderr).not.toMatch(/session_not_found/);
    await until(
      async () => !existsSync(outbox) || !readFileSync(outbox, 'utf8').includes('"e":'),
      30_000,
      'outbox emptied',
    );
  }, 180_000);

  it('fails a session whose device stays away past --lost-timeout, saying so', async () => {
    await server.kill('SIGTERM');
    await startServer(port, ['--lost-timeout', '2s']);
    await device.waitFor(/device online/, 30_000);
    const started = await cli([
      'session',
      'start',
      '--device',
      'solo',
      '--prompt',
      'node -e "setInterval(()=>{},1000)"',
    ]);
    expect(started.code, started.stderr).toBe(0);
    const id = started.stdout.trim();
    await statusIs(id, 'running');
    await device.kill('SIGKILL');
    await statusIs(id, 'lost');
    const failed = await until(
      async () => {
        const s = await session(id);
        return s.status === 'failed' ? s : null;
      },
      30_000,
      'failed',
    );
    expect(failed.errorCode).toBe('device_offline');
    expect(failed.errorMessage).toBe('its device did not come back within 2 s');
  }, 120_000);
});

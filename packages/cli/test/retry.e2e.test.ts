import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '@fabric/protocol';
import { Proc, optimal, readJson, tempDir } from './procs.js';

const D = tempDir('retry');
let up: Proc;
let proxy: Server;
let dropped = 0;
const sockets = new Set<Socket>();

/**
 * A TCP proxy in front of the control plane that loses the answer to the
 * first request: it forwards the request, and when the answer starts to come
 * back it cuts the client off — the server did the work, the client saw a
 * socket error. Later connections pass through.
 */
function lossyProxy(target: number): Promise<number> {
  let connections = 0;
  proxy = createServer((client) => {
    const first = connections++ === 0;
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    if (first) {
      upstream.once('data', () => {
        dropped++;
        client.destroy();
        upstream.destroy();
      });
    } else {
      upstream.pipe(client);
    }
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  return new Promise((resolve) =>
    proxy.listen(0, '127.0.0.1', () => resolve((proxy.address() as { port: number }).port)),
  );
}

beforeAll(async () => {
  up = new Proc(['up', '--data', D.path, '--port', '0']);
  await up.waitFor(/device online/, 30_000);
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await up.kill('SIGKILL');
  D.remove();
});

describe('session start over a connection that loses the answer', () => {
  it('retries with the same Idempotency-Key and the control plane runs the session once', async () => {
    const server = readJson<{ url: string }>(join(D.path, 'server.json')).url;
    const port = await lossyProxy(Number(new URL(server).port));
    // A second sign-in file that reaches the same control plane through the proxy.
    const via = `http://127.0.0.1:${port}`;
    const C = join(D.path, 'via-proxy');
    mkdirSync(C, { mode: 0o700 });
    writeFileSync(
      join(C, 'cli.json'),
      JSON.stringify({ ...readJson<Record<string, unknown>>(join(D.path, 'cli.json')), server: via }),
      { mode: 0o600 },
    );

    const r = await optimal([
      'session',
      'start',
      '--harness',
      'shell',
      '--prompt',
      'echo exactly once',
      '--json',
      '--data',
      C,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(dropped).toBe(1);
    const started = JSON.parse(r.stdout) as SessionView;

    const ls = await optimal(['session', 'ls', '--json', '--data', D.path]);
    const mine = (JSON.parse(ls.stdout) as SessionView[]).filter((s) => s.prompt === 'echo exactly once');
    expect(mine.map((s) => s.id)).toEqual([started.id]);
  }, 60_000);
});

import { WebSocketServer, type WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeEnvelope, parseFrame, WS_PROTOCOL, type Envelope } from '@fabric/protocol';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceClient } from './client.js';
import { Outbox } from './outbox.js';
import { until } from '@fabric/node/testing';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A stand-in control plane on a loopback port: the frames the device sent, and its socket. */
async function controlPlane() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => WS_PROTOCOL });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const frames: Envelope[] = [];
  let socket: WebSocket | null = null;
  wss.on('connection', (ws) => {
    socket = ws;
    ws.on('message', (data) => {
      const parsed = parseFrame(data.toString(), (data as Buffer).byteLength);
      if (parsed.ok) frames.push(parsed.envelope);
    });
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  );
  const { port } = wss.address() as { port: number };
  const waitFor = async (match: (e: Envelope) => boolean) => {
    const end = Date.now() + 10_000;
    for (;;) {
      const found = frames.find(match);
      if (found) return found;
      if (Date.now() > end) throw new Error('frame never came');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    url: `http://127.0.0.1:${port}`,
    frames,
    waitFor,
    send: (env: Envelope) => socket!.send(encodeEnvelope(env)),
    drop: () => socket!.terminate(),
    connections: () => frames.filter((e) => e.type === 'hello').length,
  };
}

/** A device that runs nothing. */
const idle = { running: () => [], stopAll: async () => {} };

const start = (sessionId: string, prompt: string): Envelope => ({
  corrId: sessionId,
  type: 'session.start',
  direction: 'to_device',
  ts: Date.now(),
  payload: {
    sessionId,
    harness: 'shell',
    prompt,
    cwd: null,
    labels: {},
    permissionMode: 'ask',
    resume: null,
    model: null,
    credentials: [],
    byDeviceOwner: false,
  },
});

describe('DeviceClient', () => {
  it('answers a session.start its handler throws on with a refusal, and keeps serving the next one', async () => {
    const cp = await controlPlane();
    const started: string[] = [];
    // A handler with a bug for one prompt: the throw must cost that session only.
    const deliver = (env: Envelope) => {
      if (env.type !== 'session.start') return;
      if (env.payload.prompt === 'explode') throw new Error('a bug in start');
      started.push(env.payload.sessionId);
    };
    const client = new DeviceClient({
      server: cp.url,
      deviceId: 'dev_clienttest1',
      token: 't',
      sessions: idle,
      deliver,
      capabilities: async () => ({
        hostname: 'h',
        platform: 'linux',
        arch: 'x64',
        cpus: 1,
        ramTotal: 2,
        ramFree: 1,
        load: [0, 0, 0],
        harnesses: [],
        labels: {},
        allowlist: [],
        daemonVersion: '0',
        runningSessions: 0,
        isolation: 'bwrap',
      }),
      log: { info: () => {}, warn: () => {} },
    });
    const done = client.run();
    cleanups.push(async () => {
      await client.stop();
      await done;
    });
    await cp.waitFor((e) => e.type === 'hello');

    cp.send(start('ses_explodes0001', 'explode'));
    const refuse = await cp.waitFor((e) => e.type === 'session.refuse');
    expect(refuse).toMatchObject({
      corrId: 'ses_explodes0001',
      payload: { sessionId: 'ses_explodes0001', code: 'internal' },
    });

    cp.send(start('ses_fine00000001', 'echo fine'));
    const end = Date.now() + 10_000;
    while (started.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(started).toEqual(['ses_fine00000001']);
  });
});

const caps = async () => ({
  hostname: 'h',
  platform: 'linux',
  arch: 'x64',
  cpus: 1,
  ramTotal: 2,
  ramFree: 1,
  load: [0, 0, 0] as [number, number, number],
  harnesses: [],
  labels: {},
  allowlist: [],
  daemonVersion: '0',
  runningSessions: 0,
  isolation: 'bwrap' as const,
});
const out = (sessionId: string, data: string): Envelope => ({
  corrId: sessionId,
  type: 'session.stdout',
  direction: 'to_cloud',
  ts: 1,
  payload: { sessionId, data },
});
const delivered = (upTo: number): Envelope => ({
  corrId: 'dlv_1',
  type: 'delivered',
  direction: 'to_device',
  ts: 1,
  payload: { upTo },
});

describe('DeviceClient delivery', () => {
  it('sends what was not confirmed again, in order, after hello on every new connection, and forgets what was', async () => {
    const cp = await controlPlane();
    const client = new DeviceClient({
      server: cp.url,
      deviceId: 'dev_clienttest1',
      token: 't',
      sessions: idle,
      deliver: () => {},
      capabilities: caps,
      log: { info: () => {}, warn: () => {} },
      backoff: { baseMs: 10, maxMs: 50 },
    });
    const done = client.run();
    cleanups.push(async () => {
      await client.stop();
      await done;
    });
    await cp.waitFor((e) => e.type === 'hello');
    const sid = 'ses_delivery0001';
    for (const d of ['a', 'b', 'c']) client.emit(out(sid, d));
    await cp.waitFor((e) => e.dseq === 3);
    cp.send(delivered(2));
    await until(() => client.undelivered === 1);

    cp.drop();
    client.emit(out(sid, 'd')); // made while offline
    await until(() => cp.connections() === 2);
    await until(() => cp.frames.some((e) => e.dseq === 4));
    expect(cp.frames.slice(cp.frames.findLastIndex((e) => e.type === 'hello')).map((e) => [e.type, e.dseq])).toEqual([
      ['hello', undefined],
      ['session.stdout', 3],
      ['session.stdout', 4],
    ]);
    cp.send(delivered(4));
    await until(() => client.undelivered === 0);
  });

  it('after a daemon restart, reports a finished session in hello and ends one whose run did not survive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fabric-client-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'outbox.jsonl');
    const before = new Outbox({ file });
    before.add(
      {
        corrId: 'ses_finished0001',
        type: 'session.exit',
        direction: 'to_cloud',
        ts: 1,
        payload: { sessionId: 'ses_finished0001', code: 0, signal: null },
      },
      false,
    );
    before.add(
      {
        corrId: 'ses_cutshort0001',
        type: 'session.stdout',
        direction: 'to_cloud',
        ts: 1,
        payload: { sessionId: 'ses_cutshort0001', data: 'half' },
      },
      false,
    );
    // (killed here: nothing closed)

    const cp = await controlPlane();
    const client = new DeviceClient({
      server: cp.url,
      deviceId: 'dev_clienttest1',
      token: 't',
      sessions: idle,
      deliver: () => {},
      capabilities: caps,
      log: { info: () => {}, warn: () => {} },
      outbox: new Outbox({ file }),
    });
    const done = client.run();
    cleanups.push(async () => {
      await client.stop();
      await done;
    });
    const hello = await cp.waitFor((e) => e.type === 'hello');
    expect(hello.type === 'hello' && hello.payload.finished).toEqual([
      { sessionId: 'ses_finished0001', code: 0, signal: null },
      { sessionId: 'ses_cutshort0001', code: null, signal: null },
    ]);
    await cp.waitFor((e) => e.dseq === 4);
    expect(
      cp.frames
        .filter((e) => e.dseq !== undefined)
        .map((e) => [e.dseq, e.type, (e.payload as { sessionId: string }).sessionId]),
    ).toEqual([
      [1, 'session.exit', 'ses_finished0001'],
      [2, 'session.stdout', 'ses_cutshort0001'],
      [3, 'session.stderr', 'ses_cutshort0001'],
      [4, 'session.exit', 'ses_cutshort0001'],
    ]);
    expect(cp.frames.find((e) => e.dseq === 4)?.payload).toEqual({
      sessionId: 'ses_cutshort0001',
      code: null,
      signal: null,
    });
  });
});

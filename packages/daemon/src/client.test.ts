import { WebSocketServer, type WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeEnvelope, parseFrame, WS_PROTOCOL, type Envelope } from '@fabric/protocol';
import { DeviceClient } from './client.js';
import type { SessionRunner } from './runner.js';

const cleanups: Array<() => Promise<void> | void> = [];
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
  cleanups.push(() => new Promise<void>((resolve) => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()); }));
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
  return { url: `http://127.0.0.1:${port}`, frames, waitFor, send: (env: Envelope) => socket!.send(encodeEnvelope(env)) };
}

const start = (sessionId: string, prompt: string): Envelope => ({
  corrId: sessionId, type: 'session.start', direction: 'to_device', ts: Date.now(),
  payload: { sessionId, harness: 'shell', prompt, cwd: null, labels: {}, permissionMode: 'ask', resume: null, model: null, credentials: [], byDeviceOwner: false },
});

describe('DeviceClient', () => {
  it('answers a session.start its runner throws on with a refusal, and keeps serving the next one', async () => {
    const cp = await controlPlane();
    const started: string[] = [];
    // A runner with a bug for one prompt: the throw must cost that session only.
    const runner = {
      start: (p: { sessionId: string; prompt: string }) => {
        if (p.prompt === 'explode') throw new Error('a bug in start');
        started.push(p.sessionId);
      },
      running: () => [],
      stopAll: async () => {},
    } as unknown as SessionRunner;
    const client = new DeviceClient({
      server: cp.url, deviceId: 'dev_clienttest1', token: 't', runner,
      capabilities: async () => ({ hostname: 'h', platform: 'linux', arch: 'x64', cpus: 1, ramTotal: 2, ramFree: 1, load: [0, 0, 0], harnesses: [], labels: {}, allowlist: [], daemonVersion: '0', runningSessions: 0, isolation: 'bwrap' }),
      log: { info: () => {}, warn: () => {} },
    });
    const done = client.run();
    cleanups.push(async () => { await client.stop(); await done; });
    await cp.waitFor((e) => e.type === 'hello');

    cp.send(start('ses_explodes0001', 'explode'));
    const refuse = await cp.waitFor((e) => e.type === 'session.refuse');
    expect(refuse).toMatchObject({ corrId: 'ses_explodes0001', payload: { sessionId: 'ses_explodes0001', code: 'internal' } });

    cp.send(start('ses_fine00000001', 'echo fine'));
    const end = Date.now() + 10_000;
    while (started.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(started).toEqual(['ses_fine00000001']);
  });
});

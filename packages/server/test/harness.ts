import WebSocket from 'ws';
import type { CapabilityDigest, Envelope } from '@fabric/protocol';
import { startServer, type RunningServer, type ServerOptions } from '../src/server.js';

/** A session's event stream: read while it is written, so it needs the socket. */
const STREAM_PATH = /^\/api\/sessions\/[^/]+\/stream(\?|$)/;

/** A control plane in this process on a free port, with an owner, a CLI token and helpers. */
export async function testServer(opts: ServerOptions = {}) {
  const server = await startServer({ port: 0, checkResponses: true, ...opts });
  const owner = await server.ctx.accounts.ensureOwner('ada');
  const { token: userToken } = await server.ctx.accounts.signIn({ ...owner, role: 'owner' }, 'cli');
  return {
    server,
    owner,
    userToken,
    async pairDevice(name: string) {
      const pairing = await server.ctx.accounts.createPairingToken(owner.id);
      return server.ctx.accounts.pair(pairing.code, name);
    },
    /**
     * Call the HTTP API as a client would. Through Fastify's `inject()`, no
     * socket: only a stream (SSE), which a test reads while it is written,
     * goes over the listening port.
     */
    async api(
      path: string,
      init: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
    ): Promise<Response> {
      const token = init.token === undefined ? userToken : init.token;
      const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
      const headers: Record<string, string> = {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      };
      const body =
        init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      if (STREAM_PATH.test(path))
        return fetch(server.url + path, { method, headers, ...(body === undefined ? {} : { body }) });
      const res = await server.app.inject({
        method: method as 'GET',
        url: path,
        headers: { host: new URL(server.url).host, ...headers },
        ...(body === undefined ? {} : { payload: body }),
      });
      const out = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (v === undefined) continue;
        for (const one of Array.isArray(v) ? v : [v]) out.append(k, String(one));
      }
      const empty = res.statusCode === 204 || res.statusCode === 205 || res.statusCode === 304;
      return new Response(empty ? null : res.rawPayload, { status: res.statusCode, headers: out });
    },
  };
}

export function capabilities(over: Partial<CapabilityDigest> = {}): CapabilityDigest {
  return {
    hostname: 'test',
    platform: 'linux',
    arch: 'x64',
    cpus: 2,
    // Plausible by default: a test that names more free RAM gets a machine that has it.
    ramTotal: Math.max(8 * 2 ** 30, over.ramFree ?? 0),
    ramFree: 4 * 2 ** 30,
    load: [0.1, 0.1, 0.1],
    harnesses: [{ name: 'shell', version: '1' }],
    labels: {},
    allowlist: ['echo', 'sleep'],
    daemonVersion: 'test',
    runningSessions: 0,
    ...over,
  };
}

/** A hand-driven device socket: raw frames in, parsed envelopes out. */
export class FakeDevice {
  readonly received: Envelope[] = [];
  private readonly taken = new Set<Envelope>();
  private waiters: { match: (e: Envelope) => boolean; resolve: (e: Envelope) => void }[] = [];
  closeCode: number | null = null;
  readonly closed: Promise<number>;

  private constructor(
    readonly ws: WebSocket,
    readonly deviceId: string,
  ) {
    ws.on('message', (data) => {
      const env = JSON.parse(data.toString()) as Envelope;
      this.received.push(env);
      for (const w of [...this.waiters]) {
        if (!this.taken.has(env) && w.match(env)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          this.taken.add(env);
          w.resolve(env);
        }
      }
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
  }

  static async connect(
    server: RunningServer,
    deviceId: string,
    token: string,
    caps = capabilities(),
  ): Promise<FakeDevice> {
    const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws/device', ['fabric.v1', `bearer.${token}`]);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const device = new FakeDevice(ws, deviceId);
    device.send({
      corrId: 'hello-1',
      type: 'hello',
      direction: 'to_cloud',
      ts: Date.now(),
      payload: { deviceId, capabilities: caps, running: [] },
    });
    await device.next((e) => e.type === 'welcome');
    return device;
  }

  send(env: Envelope | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(env));
  }

  sendRaw(raw: string | Buffer): void {
    this.ws.send(raw);
  }

  /** The first envelope matching `match` not already returned by `next` (received earlier or later). */
  next(match: (e: Envelope) => boolean, timeoutMs = 20_000): Promise<Envelope> {
    const already = this.received.find((e) => !this.taken.has(e) && match(e));
    if (already) {
      this.taken.add(already);
      return Promise.resolve(already);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for an envelope')), timeoutMs);
      this.waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(t);
          resolve(e);
        },
      });
    });
  }

  output(sessionId: string, data: string, type: 'session.stdout' | 'session.stderr' = 'session.stdout'): void {
    this.send({ corrId: sessionId, type, direction: 'to_cloud', ts: Date.now(), payload: { sessionId, data } });
  }

  close(): void {
    this.ws.close();
  }
}

/** Try a WebSocket upgrade and report the HTTP status and JSON body of a refusal. */
export function tryUpgrade(
  url: string,
  protocols: string[],
): Promise<{ status: number; body: { code?: string } | null; protocol?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols);
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => {
        ws.terminate();
        resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as { code?: string }) : null });
      });
    });
    ws.on('open', () => {
      const protocol = ws.protocol;
      ws.close();
      resolve({ status: 101, body: null, protocol });
    });
    ws.on('error', () => {
      /* reported through unexpected-response */
    });
  });
}

export { until } from '@fabric/node/testing';

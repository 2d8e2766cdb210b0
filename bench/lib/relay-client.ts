// Load generator for the relay benchmark: one fake device (a `ws` client)
// and one SSE viewer (node:http) per pipeline. Runs inside a worker thread
// by default so that client work (frame masking, SSE parsing) does not share
// the server's event loop; `--inline` runs it on the main thread instead.
//
// Every frame is the same `session.stdout` envelope shape for both pipelines,
// with a 200-byte `data` string "<run>|<index>|<hrtime ns>|xxxx...". Both
// viewers find it with the same string search, so the client cost per event
// is the same on either side of the ratio.
import http from 'node:http';
import os from 'node:os';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  fillPath,
  routes,
  type CapabilityDigest,
  type Envelope,
  type EnvelopeOf,
  type SessionView,
} from '@fabric/protocol';
import WebSocket from 'ws';
import { SseParser, type SseHandler } from './sse.js';
import { percentileSorted } from './stats.js';

/** The two pipes measured side by side. */
export type Pipeline = 'baseline' | 'fabric';

/** Where the fake device of the fabric pipeline connects, and as whom. */
export interface FabricTarget {
  url: string;
  userToken: string;
  deviceId: string;
  deviceToken: string;
}

/** A fabric session's whole stream, read after its `event: end`. */
export interface SessionReport {
  sessionId: string;
  status: SessionView['status'];
  lastSeq: number;
  lastSseId: number;
  sseIdDupes: number;
  sseIdGaps: number;
  stdoutEvents: number;
  endSeen: boolean;
  kinds: Record<string, number>;
}

/** What every run reports; `session` only for the fabric pipeline. */
interface RunReport {
  pipeline: Pipeline;
  n: number;
  received: number;
  duplicates: number;
  lost: number;
  timedOut: boolean;
  session?: SessionReport;
}

export interface ThroughputResult extends RunReport {
  sent: number;
  elapsedMs: number;
  sendMs: number;
  /** Messages per second, first send to last receive. */
  rate: number;
  backpressurePauses: number;
}

export interface LatencyResult extends RunReport {
  /** The paced rate asked for, messages per second. */
  rate: number;
  achievedRate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface ClientStats {
  deviceErrors: number;
}

/** The calls the benchmark makes, in a worker thread or inline. */
export interface ClientApi {
  connectBaseline(target: { url: string }): Promise<boolean>;
  connectFabric(target: FabricTarget): Promise<boolean>;
  throughput(pipeline: Pipeline, n: number, deadlineMs?: number): Promise<ThroughputResult>;
  latency(pipeline: Pipeline, n: number, rate: number, deadlineMs?: number): Promise<LatencyResult>;
  stats(): ClientStats;
  close(): Promise<ClientStats>;
}
export type ClientMethod = keyof ClientApi;
export type ClientArgs<M extends ClientMethod> = Parameters<ClientApi[M]>;
export type ClientResult<M extends ClientMethod> = Awaited<ReturnType<ClientApi[M]>>;

/** A call to the worker thread, and its answer. */
export interface ClientRequest {
  id: number;
  method: ClientMethod;
  args: ClientArgs<ClientMethod>;
}
export type ClientReply =
  { id: number; ok: true; result: ClientResult<ClientMethod> } | { id: number; ok: false; error: string };

interface SseStream {
  req: http.ClientRequest;
  res: http.IncomingMessage;
  parser: SseParser;
}

interface PipeBase {
  ws: WebSocket;
  sse?: SseStream;
  heartbeat?: NodeJS.Timeout;
}

interface BaselinePipe extends PipeBase {
  kind: 'baseline';
  sse: SseStream;
}

interface FabricPipe extends PipeBase {
  kind: 'fabric';
  url: string;
  userToken: string;
  deviceId: string;
  /** Per session id: a waiter for its session.start, or true once it came. */
  starts: Map<string, (() => void) | true>;
  welcome: ((env: EnvelopeOf<'welcome'>) => void) | null;
  current: FabricSession | null;
}

interface FabricSession {
  id: string;
  lastId: number;
  idDupes: number;
  idGaps: number;
  stdout: number;
  ended: Promise<void>;
  endedResolve: () => void;
  kinds: Record<string, number>;
  sse?: SseStream;
}

/** One run in flight: what has arrived of its n messages. */
interface Run {
  tag: number;
  n: number;
  received: number;
  dupes: number;
  seen: Uint8Array;
  latencies: Float64Array | null;
  lastRecv: bigint;
  done: () => void;
  finished: Promise<void>;
}

const PAYLOAD_BYTES = 200;
const PAD = 'x'.repeat(PAYLOAD_BYTES);
const HIGH_WATER = 4 * 1024 * 1024;
const BURST = 512;
/** A run with no delivery for this long is declared stalled. */
const STALL_MS = 5000;
const DATA_KEY = '"data":"';
const BASELINE_SESSION = 'ses_baselineBASELINE'; // same length as a real session id (ses_ + 16)

const agent = new http.Agent({ keepAlive: false });
const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function log(msg: string): void {
  process.stderr.write(`[relay client] ${msg}\n`);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A JSON answer: the body parsed as the API documents it (the text when it is not JSON). */
interface Reply<T> {
  status: number | undefined;
  body: T;
}

/** JSON request with node:http; resolves { status, body }. */
function request<T>(method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<Reply<T>> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: {
          ...headers,
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* leave as text */
          }
          resolve({ status: res.statusCode, body: parsed as T });
        });
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

function connectWs(url: string, protocols: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => reject(new Error(`websocket ${url} refused: ${res.statusCode} ${text}`)));
    });
    ws.once('error', reject);
  });
}

/**
 * Open an SSE stream; resolves { req, res, parser } once the 200 response
 * head has arrived. `onEvent(id, event, data)` gets every event.
 */
function openSse(url: string, headers: Record<string, string>, onEvent: SseHandler): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const parser = new SseParser(onEvent);
    const req = http.get(url, { agent, headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => reject(new Error(`sse ${url}: ${res.statusCode} ${text}`)));
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.push(chunk));
      res.on('error', () => {});
      resolve({ req, res, parser });
    });
    req.on('error', reject);
  });
}

/** Device sequence numbers, as a daemon's outbox sets them: the control plane then acknowledges as it does for a real device. */
let dseq = 0;

function frame(sessionId: string, runTag: number, i: number, withTime: boolean): string {
  const head = `${runTag}|${i}|${withTime ? process.hrtime.bigint() : 0n}|`;
  const data = head + PAD.slice(head.length);
  return `{"corrId":"${sessionId}","type":"session.stdout","direction":"to_cloud","payload":{"sessionId":"${sessionId}","data":"${data}"},"ts":${Date.now()},"dseq":${++dseq}}`;
}

/** Wait until the socket's send buffer is below the high-water mark. */
async function drain(ws: WebSocket): Promise<void> {
  while (ws.bufferedAmount > HIGH_WATER && ws.readyState === WebSocket.OPEN) await sleep(1);
}

export class RelayClient implements ClientApi {
  private pipes: { baseline?: BaselinePipe; fabric?: FabricPipe } = {};
  private run: Run | null = null;
  private runTag = 0;
  private deviceErrors = 0;
  private closing = false;

  // ---- setup ---------------------------------------------------------------

  async connectBaseline({ url }: { url: string }): Promise<boolean> {
    const ws = await connectWs(`${url.replace('http', 'ws')}/ws`, []);
    ws.on('error', (err) => log(`baseline ws error: ${err.message}`));
    const sse = await openSse(`${url}/stream`, {}, (_id, _event, data) => {
      if (data !== null) this.onOutput(data);
    });
    this.pipes.baseline = { kind: 'baseline', ws, sse };
    return true;
  }

  async connectFabric({ url, userToken, deviceId, deviceToken }: FabricTarget): Promise<boolean> {
    const ws = await connectWs(`${url.replace('http', 'ws')}${routes.deviceSocket.path}`, [
      'fabric.v1',
      `bearer.${deviceToken}`,
    ]);
    const pipe: FabricPipe = {
      kind: 'fabric',
      url,
      userToken,
      deviceId,
      ws,
      starts: new Map(),
      welcome: null,
      current: null,
    };
    ws.on('error', (err) => log(`fabric device ws error: ${err.message}`));
    ws.on('close', (code, reason) => {
      if (!this.closing) log(`fabric device ws closed: ${code} ${reason.toString()}`);
    });
    ws.on('message', (raw) => this.onDeviceFrame(pipe, (raw as Buffer).toString()));
    const welcomed = new Promise<EnvelopeOf<'welcome'>>((resolve) => {
      pipe.welcome = resolve;
    });
    // `isolation` is left to the server's default, as an older daemon's hello would.
    const capabilities: Omit<CapabilityDigest, 'isolation'> = {
      hostname: 'bench',
      platform: process.platform,
      arch: process.arch,
      cpus: os.cpus().length,
      ramTotal: os.totalmem(),
      ramFree: os.freemem(),
      load: [0, 0, 0],
      harnesses: [{ name: 'shell', version: '1' }],
      labels: {},
      allowlist: ['echo'],
      daemonVersion: 'bench',
      runningSessions: 0,
    };
    ws.send(
      JSON.stringify({
        corrId: 'bench-hello-1',
        type: 'hello',
        direction: 'to_cloud',
        ts: Date.now(),
        payload: { deviceId, capabilities, running: [] },
      }),
    );
    const welcome = await withTimeout(welcomed, 10_000, 'welcome');
    // Heartbeats keep the device alive across long pauses (a stalled run, say); any frame would.
    let beat = 0;
    pipe.heartbeat = setInterval(
      () => {
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.send(
          JSON.stringify({
            corrId: `bench-beat-${++beat}`,
            type: 'heartbeat',
            direction: 'to_cloud',
            ts: Date.now(),
            payload: { capabilities, running: [] },
          }),
        );
      },
      Math.min(welcome.payload.heartbeatMs, 15_000),
    );
    pipe.heartbeat.unref();
    this.pipes.fabric = pipe;
    return true;
  }

  private onDeviceFrame(pipe: FabricPipe, text: string): void {
    let env: Envelope;
    try {
      env = JSON.parse(text) as Envelope;
    } catch {
      log(`device got non-json frame: ${text.slice(0, 120)}`);
      return;
    }
    if (env.type === 'welcome') {
      pipe.welcome?.(env);
      pipe.welcome = null;
    } else if (env.type === 'session.start') {
      const sessionId = env.payload.sessionId;
      pipe.ws.send(
        JSON.stringify({
          corrId: env.corrId,
          type: 'session.ack',
          direction: 'to_cloud',
          ts: Date.now(),
          payload: { sessionId, pid: null },
        }),
      );
      const waiter = pipe.starts.get(sessionId);
      if (typeof waiter === 'function') waiter();
      pipe.starts.set(sessionId, true);
    } else if (env.type === 'error') {
      this.deviceErrors++;
      if (this.deviceErrors <= 5) log(`device got error envelope: ${JSON.stringify(env.payload)}`);
    }
  }

  /** Create a session, ack it from the fake device, and open its SSE stream. */
  private async openFabricSession(): Promise<FabricSession> {
    const pipe = this.fabricPipe();
    const auth = { Authorization: `Bearer ${pipe.userToken}` };
    const created = await request<SessionView>('POST', `${pipe.url}${routes.createSession.path}`, auth, {
      harness: 'shell',
      prompt: 'echo bench',
    });
    if (created.status !== 201)
      throw new Error(`POST /api/sessions: ${created.status} ${JSON.stringify(created.body)}`);
    const id = created.body.id;
    if (pipe.starts.get(id) !== true) {
      await withTimeout(
        new Promise<void>((resolve) => pipe.starts.set(id, resolve)),
        10_000,
        `session.start for ${id}`,
      );
    }
    pipe.starts.delete(id);
    let endedResolve = () => {};
    const ended = new Promise<void>((resolve) => {
      endedResolve = resolve;
    });
    const session: FabricSession = { id, lastId: 0, idDupes: 0, idGaps: 0, stdout: 0, ended, endedResolve, kinds: {} };
    session.sse = await openSse(
      `${pipe.url}${fillPath(routes.streamSession.path, { id })}`,
      auth,
      (sseId, event, data) => {
        // The end frame repeats the last event's id (so an EventSource stops on reconnect): not a duplicate.
        if (sseId !== null && event !== 'end') {
          if (sseId <= session.lastId) session.idDupes++;
          else {
            if (sseId !== session.lastId + 1) session.idGaps += sseId - session.lastId - 1;
            session.lastId = sseId;
          }
        }
        session.kinds[event] = (session.kinds[event] ?? 0) + 1;
        if (event === 'stdout') {
          session.stdout++;
          this.onOutput(data);
        } else if (event === 'end') {
          session.endedResolve();
        }
      },
    );
    pipe.current = session;
    return session;
  }

  /** End the current session with session.exit, wait for `event: end`, read lastSeq. */
  private async closeFabricSession(): Promise<SessionReport> {
    const pipe = this.fabricPipe();
    const s = pipe.current;
    if (s === null) throw new Error('no fabric session is open');
    pipe.current = null;
    pipe.ws.send(
      JSON.stringify({
        corrId: s.id,
        type: 'session.exit',
        direction: 'to_cloud',
        ts: Date.now(),
        payload: { sessionId: s.id, code: 0, signal: null },
      }),
    );
    let endSeen = true;
    try {
      await withTimeout(s.ended, 10_000, `event: end for ${s.id}`);
    } catch (err) {
      endSeen = false;
      log(err instanceof Error ? err.message : String(err));
    }
    s.sse?.res.destroy();
    s.sse?.req.destroy();
    const view = await request<SessionView>('GET', `${pipe.url}${fillPath(routes.getSession.path, { id: s.id })}`, {
      Authorization: `Bearer ${pipe.userToken}`,
    });
    return {
      sessionId: s.id,
      status: view.body.status,
      lastSeq: view.body.lastSeq,
      lastSseId: s.lastId,
      sseIdDupes: s.idDupes,
      sseIdGaps: s.idGaps,
      stdoutEvents: s.stdout,
      endSeen,
      kinds: s.kinds,
    };
  }

  // ---- measurement -----------------------------------------------------------

  private onOutput(data: string | null): void {
    const r = this.run;
    if (r === null || data === null) return;
    const s = data.indexOf(DATA_KEY) + DATA_KEY.length;
    const p1 = data.indexOf('|', s);
    if (Number(data.slice(s, p1)) !== r.tag) return; // a straggler from an earlier run
    const p2 = data.indexOf('|', p1 + 1);
    const i = Number(data.slice(p1 + 1, p2));
    if (r.seen[i]) {
      r.dupes++;
      return;
    }
    r.seen[i] = 1;
    const now = process.hrtime.bigint();
    if (r.latencies) {
      const p3 = data.indexOf('|', p2 + 1);
      r.latencies[r.received] = Number(now - BigInt(data.slice(p2 + 1, p3))) / 1e6;
    }
    r.received++;
    r.lastRecv = now;
    if (r.received === r.n) r.done();
  }

  private beginRun(n: number, latency: boolean): Run {
    let done = () => {};
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const r: Run = {
      tag: ++this.runTag,
      n,
      received: 0,
      dupes: 0,
      seen: new Uint8Array(n),
      latencies: latency ? new Float64Array(n) : null,
      lastRecv: 0n,
      done,
      finished,
    };
    this.run = r;
    return r;
  }

  /** Wait for every message of the run, until the deadline or STALL_MS without progress. */
  private async finishRun(r: Run, deadlineMs: number): Promise<boolean> {
    const end = Date.now() + deadlineMs;
    let seen = -1;
    let lastProgress = Date.now();
    let timedOut = false;
    for (;;) {
      const done = await Promise.race([r.finished.then(() => true), sleep(250).then(() => false)]);
      if (done) break;
      const now = Date.now();
      if (r.received !== seen) {
        seen = r.received;
        lastProgress = now;
      }
      if (now >= end || now - lastProgress >= STALL_MS) {
        timedOut = true;
        log(
          `run stopped waiting: ${r.received}/${r.n} delivered, ${now >= end ? 'deadline reached' : `nothing new for ${STALL_MS} ms`}`,
        );
        break;
      }
    }
    this.run = null;
    return timedOut;
  }

  private sessionFor(pipeline: Pipeline): string {
    if (pipeline !== 'fabric') return BASELINE_SESSION;
    const s = this.fabricPipe().current;
    if (s === null) throw new Error('no fabric session is open');
    return s.id;
  }

  private pipe(pipeline: Pipeline): BaselinePipe | FabricPipe {
    const pipe = this.pipes[pipeline];
    if (!pipe) throw new Error(`${pipeline} pipeline not connected`);
    return pipe;
  }

  private fabricPipe(): FabricPipe {
    const pipe = this.pipes.fabric;
    if (!pipe) throw new Error('fabric pipeline not connected');
    return pipe;
  }

  /** Send n frames as fast as the socket allows; rate = n / (first send → last receive). */
  async throughput(pipeline: Pipeline, n: number, deadlineMs = 25_000): Promise<ThroughputResult> {
    if (pipeline === 'fabric') await this.openFabricSession();
    const { ws } = this.pipe(pipeline);
    const sessionId = this.sessionFor(pipeline);
    const r = this.beginRun(n, false);
    const t0 = process.hrtime.bigint();
    const deadline = Date.now() + deadlineMs;
    let i = 0;
    let pauses = 0;
    while (i < n && Date.now() < deadline) {
      if (ws.bufferedAmount > HIGH_WATER) {
        pauses++;
        await drain(ws);
        continue;
      }
      const end = Math.min(n, i + BURST);
      for (; i < end; i++) ws.send(frame(sessionId, r.tag, i, true));
      await yieldNow();
    }
    const tSent = process.hrtime.bigint();
    const timedOut = await this.finishRun(r, Math.max(1, deadline - Date.now()));
    const tEnd = r.received === n ? r.lastRecv : process.hrtime.bigint();
    const elapsedMs = Number(tEnd - t0) / 1e6;
    const result: ThroughputResult = {
      pipeline,
      n,
      sent: i,
      received: r.received,
      duplicates: r.dupes,
      lost: n - r.received,
      timedOut,
      elapsedMs,
      sendMs: Number(tSent - t0) / 1e6,
      rate: r.received / (elapsedMs / 1000),
      backpressurePauses: pauses,
    };
    if (pipeline === 'fabric') result.session = await this.closeFabricSession();
    return result;
  }

  /** Send n frames paced at `rate`/s; per-message device→viewer latency in ms. */
  async latency(pipeline: Pipeline, n: number, rate: number, deadlineMs = 25_000): Promise<LatencyResult> {
    if (pipeline === 'fabric') await this.openFabricSession();
    const { ws } = this.pipe(pipeline);
    const sessionId = this.sessionFor(pipeline);
    const r = this.beginRun(n, true);
    const t0 = process.hrtime.bigint();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const due = Math.min(n, Math.floor((Number(process.hrtime.bigint() - t0) / 1e9) * rate) + 1);
        while (sent < due) ws.send(frame(sessionId, r.tag, sent++, true));
        if (sent < n) setTimeout(tick, 1);
        else resolve();
      };
      tick();
    });
    const sendMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const timedOut = await this.finishRun(r, deadlineMs);
    const lat = r.latencies!.subarray(0, r.received).sort(); // a latency run keeps latencies
    const result: LatencyResult = {
      pipeline,
      n,
      rate,
      achievedRate: n / (sendMs / 1000),
      received: r.received,
      duplicates: r.dupes,
      lost: n - r.received,
      timedOut,
      p50: percentileSorted(lat, 0.5),
      p90: percentileSorted(lat, 0.9),
      p99: percentileSorted(lat, 0.99),
      max: lat.length ? lat[lat.length - 1]! : NaN,
    };
    if (pipeline === 'fabric') result.session = await this.closeFabricSession();
    return result;
  }

  stats(): ClientStats {
    return { deviceErrors: this.deviceErrors };
  }

  async close(): Promise<ClientStats> {
    this.closing = true;
    for (const pipe of Object.values(this.pipes)) {
      clearInterval(pipe.heartbeat);
      pipe.sse?.res.destroy();
      pipe.sse?.req.destroy();
      if (pipe.ws.readyState === WebSocket.OPEN) {
        const closed = new Promise((resolve) => pipe.ws.once('close', resolve));
        pipe.ws.close(1000, 'bench done');
        await Promise.race([closed, sleep(1000)]);
      }
      pipe.ws.terminate();
    }
    agent.destroy();
    return { deviceErrors: this.deviceErrors };
  }
}

/** Call one of the client's methods by name, as a message to the worker names it. */
export function invoke<M extends ClientMethod>(
  client: ClientApi,
  method: M,
  args: ClientArgs<M>,
): ReturnType<ClientApi[M]> {
  const fn = client[method] as (this: ClientApi, ...a: ClientArgs<M>) => ReturnType<ClientApi[M]>;
  return fn.apply(client, args);
}

// Worker mode: answer { id, method, args } messages from the main thread.
const port = parentPort;
if (!isMainThread && port && (workerData as { role?: string } | null)?.role === 'relay-client') {
  const client = new RelayClient();
  const answer = async ({ id, method, args }: ClientRequest) => {
    try {
      const result = await invoke(client, method, args);
      port.postMessage({ id, ok: true, result } satisfies ClientReply);
    } catch (err) {
      port.postMessage({
        id,
        ok: false,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      } satisfies ClientReply);
    }
  };
  port.on('message', (request: ClientRequest) => {
    void answer(request);
  });
}

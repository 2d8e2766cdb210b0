import { WebSocket } from 'ws';
import {
  FabricError,
  MAX_FRAME_BYTES,
  WS_BEARER_PREFIX,
  WS_PROTOCOL,
  encodeEnvelope,
  errorBodySchema,
  newId,
  parseFrame,
  routes,
  type CapabilityDigest,
  type Envelope,
  type RunningSession,
} from '@fabric/protocol';
import { backoffDelay, defaultBackoff, type BackoffOptions } from './backoff.js';
import { Outbox, isSessionEnvelope } from './outbox.js';

export interface DeviceLog {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface DeviceClientOptions {
  /** Control plane base URL, http(s)://host:port. */
  server: string;
  deviceId: string;
  token: string;
  /** What runs here: hello and heartbeats report it; it is stopped when the device stops or is revoked. */
  sessions: LinkSessions;
  /**
   * Envelopes from the control plane the link does not handle itself (it
   * handles `delivered` and `error`, and `welcome` before passing it on).
   * What this throws costs that envelope only: it is logged, and a
   * `session.start` is answered with a refusal.
   */
  deliver: (env: Envelope) => void;
  capabilities: () => Promise<CapabilityDigest>;
  log: DeviceLog;
  backoff?: BackoffOptions;
  /** Used until the server's welcome says otherwise (default 20 s). */
  heartbeatMs?: number;
  /** The server handed out a fresh device token; persist it. */
  onToken?: (token: string) => void;
  /** The device's vault recipient, announced in hello. */
  vaultRecipient?: () => string | null;
  /** Connection state changes, for status displays and tests. */
  onState?: (state: 'connecting' | 'online' | 'offline') => void;
  /**
   * Keeps session envelopes until the control plane has stored them (default:
   * in memory only). The daemon passes one backed by `outbox.jsonl` in its data dir.
   */
  outbox?: Outbox;
}

/** The sessions a device runs, as the link sees them. */
export interface LinkSessions {
  running(): RunningSession[];
  /** End every session (the device stops, or was revoked). */
  stopAll(): Promise<void>;
}

/** Envelopes outside sessions (ledger checkpoints) held while offline; they are re-made on connect anyway. */
const MAX_LATER = 256;

/** Close codes after which reconnecting cannot help. */
const FATAL_CLOSE: Record<number, string> = { 4003: 'device_revoked' };

/**
 * The device's one outbound connection. Dials `/ws/device` with the token in
 * `Sec-WebSocket-Protocol`, says hello (capabilities and the sessions it
 * still runs), heartbeats, runs what the control plane asks, and reconnects
 * forever with capped, jittered backoff, unless the server refuses the
 * token or revokes the device, which ends `run()` with that error.
 */
export class DeviceClient {
  private ws: WebSocket | null = null;
  private readonly outbox: Outbox;
  /** Non-session envelopes made while offline, sent after the next hello. */
  private later: Envelope[] = [];
  private attempt = 0;
  private stopped = false;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private awaitingPong = false;
  /** Hello has gone out on the current socket, so envelopes may follow it. */
  private ready = false;
  private heartbeatMs: number;
  private token: string;
  private settle: ((err: FabricError | null) => void) | null = null;

  constructor(private readonly opts: DeviceClientOptions) {
    this.heartbeatMs = opts.heartbeatMs ?? 20_000;
    this.token = opts.token;
    this.outbox = opts.outbox ?? new Outbox();
    // A client starts with its daemon: sessions the outbox holds without an exit belong to a run
    // that did not survive the restart, so their exit is recorded now and delivered with the rest.
    for (const sessionId of this.outbox.withoutExit()) {
      const ts = Date.now();
      this.outbox.add(
        {
          corrId: sessionId,
          type: 'session.stderr',
          direction: 'to_cloud',
          ts,
          payload: {
            sessionId,
            data: '[fabric: the device daemon restarted while this session ran; its process did not survive]\n',
          },
        },
        false,
      );
      this.outbox.add(
        {
          corrId: sessionId,
          type: 'session.exit',
          direction: 'to_cloud',
          ts,
          payload: { sessionId, code: null, signal: null },
        },
        false,
      );
    }
  }

  /** Connect and keep connected; resolves when `stop()` is called (at once if it was), rejects on a fatal refusal. */
  run(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.settle = (err) => (err ? reject(err) : resolve());
      this.connect();
    });
  }

  /**
   * Hand an envelope to the control plane. A session envelope is numbered and
   * kept in the outbox (and its file) before it goes out, and sent again on
   * every connection until the control plane confirms it is stored; others
   * go now or after the next hello.
   */
  emit(env: Envelope): void {
    const online = this.ready && this.ws !== null && this.ws.readyState === WebSocket.OPEN;
    if (isSessionEnvelope(env)) {
      const line = this.outbox.add(env, online);
      if (online) this.ws!.send(line);
    } else if (online) {
      this.ws!.send(encodeEnvelope(env));
    } else if (this.later.length < MAX_LATER) {
      this.later.push(env);
    }
  }

  /** Envelopes sent but not yet confirmed stored, or not sent yet. */
  get undelivered(): number {
    return this.outbox.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.stopHeartbeat();
    await this.opts.sessions.stopAll();
    const ws = this.ws;
    // A socket still being opened would say hello to a device that has stopped.
    if (ws?.readyState === WebSocket.CONNECTING) ws.terminate();
    if (ws?.readyState === WebSocket.OPEN) {
      // The exits just made are in the outbox file either way; waiting a moment saves a resend next start.
      if (this.ready) await this.outbox.emptied(500);
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000, 'device stopping');
        setTimeout(resolve, 1000).unref();
      });
    }
    this.outbox.close();
    this.finish(null);
  }

  private finish(err: FabricError | null): void {
    const settle = this.settle;
    this.settle = null;
    settle?.(err);
  }

  private connect(): void {
    if (this.stopped) return;
    this.opts.onState?.('connecting');
    const url = this.opts.server.replace(/^http/, 'ws').replace(/\/$/, '') + routes.deviceSocket.path;
    const ws = new WebSocket(url, [WS_PROTOCOL, WS_BEARER_PREFIX + this.token], {
      maxPayload: MAX_FRAME_BYTES * 4,
      handshakeTimeout: 10_000,
      perMessageDeflate: false,
    });
    this.ws = ws;

    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        ws.terminate();
        let refusal: FabricError | null = null;
        try {
          const parsed = errorBodySchema.safeParse(JSON.parse(body));
          if (parsed.success && res.statusCode === 401)
            refusal = new FabricError(parsed.data.code, parsed.data.message);
        } catch {
          /* not our error body: treat as transient */
        }
        if (refusal) {
          this.stopped = true;
          this.opts.log.warn(`control plane refused this device: ${refusal.code}: ${refusal.message}`);
          this.finish(refusal);
        } else {
          this.opts.log.warn(`control plane answered ${res.statusCode}; retrying`);
          this.scheduleReconnect();
        }
      });
    });

    ws.on('open', () => {
      if (this.stopped) {
        ws.close(1000, 'device stopping');
        return;
      }
      this.attempt = 0;
      void this.hello(ws);
    });

    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
      const parsed = parseFrame(bytes.toString('utf8'), bytes.byteLength);
      if (!parsed.ok) {
        this.opts.log.warn(`bad frame from control plane: ${parsed.code}: ${parsed.message}`);
        return;
      }
      try {
        this.handle(parsed.envelope);
      } catch (err) {
        // One bad envelope costs its own session, never the daemon.
        this.opts.log.warn(`could not handle ${parsed.envelope.type}: ${(err as Error).message}`);
        if (parsed.envelope.type === 'session.start') {
          const { sessionId } = parsed.envelope.payload;
          this.emit({
            corrId: parsed.envelope.corrId,
            type: 'session.refuse',
            direction: 'to_cloud',
            ts: Date.now(),
            payload: { sessionId, code: 'internal', message: 'the device could not start this session' },
          });
        }
      }
    });

    ws.on('pong', () => {
      this.awaitingPong = false;
    });

    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.ready = false;
      this.stopHeartbeat();
      this.opts.onState?.('offline');
      const fatal = FATAL_CLOSE[code];
      if (fatal) {
        this.stopped = true;
        void this.opts.sessions.stopAll();
        this.finish(new FabricError('device_revoked', 'this device was revoked by its owner; pair it again to use it'));
        return;
      }
      if (!this.stopped)
        this.opts.log.warn(`disconnected (${code}${reason.length ? ` ${reason.toString()}` : ''}); reconnecting`);
      this.scheduleReconnect();
    });

    ws.on('error', (err) => {
      if (!this.stopped) this.opts.log.warn(`connection error: ${err.message}`);
    });
  }

  private async hello(ws: WebSocket): Promise<void> {
    const capabilities = await this.opts.capabilities();
    if (ws.readyState !== WebSocket.OPEN) return;
    const running: RunningSession[] = this.opts.sessions.running();
    const live = new Set(running.map((r) => r.sessionId));
    const finished = this.outbox
      .pendingExits()
      .filter((f) => !live.has(f.sessionId))
      .slice(0, 1024);
    ws.send(
      encodeEnvelope({
        corrId: newId('hel'),
        type: 'hello',
        direction: 'to_cloud',
        ts: Date.now(),
        payload: {
          deviceId: this.opts.deviceId,
          capabilities,
          running,
          ...(finished.length > 0 ? { finished } : {}),
          ...(this.opts.vaultRecipient?.() ? { vaultRecipient: this.opts.vaultRecipient()! } : {}),
        },
      }),
    );
    // The control plane handles frames in order, so what it has not confirmed lands after hello's reconcile.
    for (const line of this.outbox.unacked()) ws.send(line);
    for (const env of this.later.splice(0)) ws.send(encodeEnvelope(env));
    this.ready = true;
    this.startHeartbeat(ws);
    this.opts.onState?.('online');
  }

  private handle(env: Envelope): void {
    switch (env.type) {
      case 'welcome':
        if (env.payload.heartbeatMs !== this.heartbeatMs && this.ws) {
          this.heartbeatMs = env.payload.heartbeatMs;
          this.startHeartbeat(this.ws);
        }
        if (env.payload.token) {
          this.token = env.payload.token;
          try {
            this.opts.onToken?.(env.payload.token);
          } catch (err) {
            // The new token works for this run; the old one still works until it expires.
            this.opts.log.warn(`could not save the refreshed device token: ${(err as Error).message}`);
          }
        }
        this.opts.log.info(`online as ${env.payload.name}`);
        this.opts.deliver(env);
        return;
      case 'delivered':
        this.outbox.ack(env.payload.upTo);
        return;
      case 'error':
        this.opts.log.warn(`control plane error ${env.payload.code}: ${env.payload.message}`);
        return;
      default:
        this.opts.deliver(env);
        return;
    }
  }

  private startHeartbeat(ws: WebSocket): void {
    this.stopHeartbeat();
    this.awaitingPong = false;
    this.heartbeat = setInterval(() => void this.beat(ws), this.heartbeatMs);
    this.heartbeat.unref();
  }

  private async beat(ws: WebSocket): Promise<void> {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (this.awaitingPong) {
      // No pong for a whole period: the path is dead even if TCP has not noticed.
      this.opts.log.warn('control plane stopped answering; reconnecting');
      ws.terminate();
      return;
    }
    this.awaitingPong = true;
    ws.ping();
    const capabilities = await this.opts.capabilities();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the socket may close while capabilities are read
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(
      encodeEnvelope({
        corrId: newId('hb'),
        type: 'heartbeat',
        direction: 'to_cloud',
        ts: Date.now(),
        payload: { capabilities, running: this.opts.sessions.running().map((r) => r.sessionId) },
      }),
    );
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retry) return;
    const delay = backoffDelay(this.attempt++, this.opts.backoff ?? defaultBackoff);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect();
    }, delay);
  }
}

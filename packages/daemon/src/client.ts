import { WebSocket } from 'ws';
import {
  FabricError, MAX_FRAME_BYTES, WS_BEARER_PREFIX, WS_PROTOCOL, encodeEnvelope, errorBodySchema, newId, parseFrame,
  type CapabilityDigest, type Envelope, type RunningSession,
} from '@fabric/protocol';
import { backoffDelay, defaultBackoff, type BackoffOptions } from './backoff.js';
import { Outbox } from './outbox.js';
import type { SessionRunner } from './runner.js';

export interface DeviceLog {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface DeviceClientOptions {
  /** Control plane base URL, http(s)://host:port. */
  server: string;
  deviceId: string;
  token: string;
  runner: SessionRunner;
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
  /** The control plane keeps the ledger checkpoint with this seq. */
  onLedgerAck?: (seq: number) => void;
}

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
  private readonly outbox = new Outbox();
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
  }

  /** Connect and keep connected; resolves when `stop()` is called, rejects on a fatal refusal. */
  run(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.settle = (err) => (err ? reject(err) : resolve());
      this.connect();
    });
  }

  /** Hand an envelope to the control plane now, or queue it until connected. */
  emit(env: Envelope): void {
    if (this.ready && this.ws && this.ws.readyState === WebSocket.OPEN && this.outbox.length === 0) this.ws.send(encodeEnvelope(env));
    else this.outbox.push(env);
  }

  /** Sessions to report in hello: live ones, plus those whose exit is still queued. */
  private reportable(): RunningSession[] {
    const live = this.opts.runner.running();
    const ids = new Set(live.map((r) => r.sessionId));
    for (const id of this.outbox.pendingExits()) {
      if (!ids.has(id)) live.push({ sessionId: id, pid: null, startedAt: Date.now() });
    }
    return live;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.stopHeartbeat();
    await this.opts.runner.stopAll();
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      for (const env of this.outbox.drain(Date.now())) ws.send(encodeEnvelope(env));
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000, 'device stopping');
        setTimeout(resolve, 1000).unref();
      });
    }
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
    const url = this.opts.server.replace(/^http/, 'ws').replace(/\/$/, '') + '/ws/device';
    const ws = new WebSocket(url, [WS_PROTOCOL, WS_BEARER_PREFIX + this.token], {
      maxPayload: MAX_FRAME_BYTES * 4,
      handshakeTimeout: 10_000,
      perMessageDeflate: false,
    });
    this.ws = ws;

    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        ws.terminate();
        let refusal: FabricError | null = null;
        try {
          const parsed = errorBodySchema.safeParse(JSON.parse(body));
          if (parsed.success && res.statusCode === 401) refusal = new FabricError(parsed.data.code, parsed.data.message);
        } catch { /* not our error body: treat as transient */ }
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
      this.attempt = 0;
      void this.hello(ws);
    });

    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const parsed = parseFrame(data.toString(), (data as Buffer).byteLength);
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
          this.emit({ corrId: parsed.envelope.corrId, type: 'session.refuse', direction: 'to_cloud', ts: Date.now(), payload: { sessionId, code: 'internal', message: 'the device could not start this session' } });
        }
      }
    });

    ws.on('pong', () => { this.awaitingPong = false; });

    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.ready = false;
      this.stopHeartbeat();
      this.opts.onState?.('offline');
      const fatal = FATAL_CLOSE[code];
      if (fatal) {
        this.stopped = true;
        void this.opts.runner.stopAll();
        this.finish(new FabricError('device_revoked', 'this device was revoked by its owner; pair it again to use it'));
        return;
      }
      if (!this.stopped) this.opts.log.warn(`disconnected (${code}${reason.length ? ` ${reason.toString()}` : ''}); reconnecting`);
      this.scheduleReconnect();
    });

    ws.on('error', (err) => {
      if (!this.stopped) this.opts.log.warn(`connection error: ${err.message}`);
    });
  }

  private async hello(ws: WebSocket): Promise<void> {
    const capabilities = await this.opts.capabilities();
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(encodeEnvelope({
      corrId: newId('hel'), type: 'hello', direction: 'to_cloud', ts: Date.now(),
      payload: {
        deviceId: this.opts.deviceId, capabilities, running: this.reportable(),
        ...(this.opts.vaultRecipient?.() ? { vaultRecipient: this.opts.vaultRecipient()! } : {}),
      },
    }));
    // The control plane handles frames in order, so queued output lands after hello's reconcile.
    for (const env of this.outbox.drain(Date.now())) ws.send(encodeEnvelope(env));
    this.ready = true;
    this.startHeartbeat(ws);
    this.opts.onState?.('online');
  }

  private handle(env: Envelope): void {
    const runner = this.opts.runner;
    switch (env.type) {
      case 'welcome':
        if (env.payload.heartbeatMs !== this.heartbeatMs && this.ws) {
          this.heartbeatMs = env.payload.heartbeatMs;
          this.startHeartbeat(this.ws);
        }
        if (env.payload.token) {
          this.token = env.payload.token;
          this.opts.onToken?.(env.payload.token);
        }
        this.opts.log.info(`online as ${env.payload.name}`);
        return;
      case 'session.start':
        runner.start(env.payload);
        return;
      case 'session.input':
        runner.input(env.payload.sessionId, env.payload.data, env.payload.eof);
        return;
      case 'session.cancel':
        void runner.cancel(env.payload.sessionId);
        return;
      case 'session.approval':
        runner.approve(env.payload.sessionId, env.payload.requestId, {
          decision: env.payload.decision,
          ...(env.payload.reason ? { reason: env.payload.reason } : {}),
        });
        return;
      case 'ledger.checkpoint_ack':
        this.opts.onLedgerAck?.(env.payload.seq);
        return;
      case 'error':
        this.opts.log.warn(`control plane error ${env.payload.code}: ${env.payload.message}`);
        return;
      default:
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
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(encodeEnvelope({
      corrId: newId('hb'), type: 'heartbeat', direction: 'to_cloud', ts: Date.now(),
      payload: { capabilities, running: this.opts.runner.running().map((r) => r.sessionId) },
    }));
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

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  FabricError,
  MAX_FRAME_BYTES,
  WS_PROTOCOL,
  encodeEnvelope,
  newId,
  parseFrame,
  routes,
  tokenLifetimes,
  type DeviceClaims,
  type Envelope,
  type ErrorCode,
} from '@fabric/protocol';
import type { Bus } from '../bus.js';
import { topics } from '../bus.js';
import type { Clock } from '../clock.js';
import { Liveness } from '../devices/liveness.js';
import type { Tokens } from '../auth/tokens.js';
import type { DeviceCommand, FleetChange } from '../bus.js';
import type { SessionService } from '../sessions/service.js';
import type { EventWriter } from '../sessions/writer.js';
import type { Db } from '../store/db.js';
import { deviceAccess, getDevice } from '../store/devices.js';
import { policy, type Viewer } from '../auth/policy.js';
import { bearerFromProtocols, rejectUpgrade } from './upgrade.js';
import { cookieValue, SESSION_COOKIE } from '../http/auth.js';
import type { Logger } from '../log.js';
import { answerCheckpoint } from '../ledger/receive.js';
import { LedgerStore } from '../ledger/store.js';

export interface GatewayOptions {
  db: Db;
  bus: Bus;
  tokens: Tokens;
  sessions: SessionService;
  writer: EventWriter;
  clock: Clock;
  log: Logger;
  /** Heartbeat period devices are told to use (default 20 s). */
  heartbeatMs?: number;
  /** A device silent this long is dropped (default 40 s). */
  deadAfterMs?: number;
  /** How often the single liveness sweep runs (default 10 s). */
  sweepMs?: number;
  /** Largest frame handled as an envelope; larger ones get `frame_too_large` (default 1 MiB). */
  maxFrameBytes?: number;
  /** Frames past this close the socket with 1009 (default 4 × maxFrameBytes). */
  hardMaxPayload?: number;
}

/** Close codes the control plane uses on device sockets. */
export const closeCodes = {
  replaced: 4000,
  dead: 4001,
  revoked: 4003,
  shutdown: 1001,
} as const;

const BACKLOG_HIGH = 20_000;

/**
 * Terminates `/ws/device` and `/ws/browser`. The JWT is checked in the HTTP
 * upgrade handler (a bad one gets a 401 before any WebSocket exists) and the
 * server selects only `fabric.v1`, so the token is never echoed.
 */
export class Gateway {
  private readonly wss: WebSocketServer;
  private readonly links = new Map<string, DeviceLink>();
  /** Per-link cleanup after a socket closes; awaited on shutdown so the store is not closed under it. */
  private readonly cleanups = new Set<Promise<void>>();
  /** Open browser sockets and who is behind each: fleet changes reach only those who may see them. */
  private readonly browsers = new Map<WebSocket, Viewer>();
  /** Fleet changes go out in order: each waits for the one before (whose audience may need a query). */
  private fanout: Promise<void> = Promise.resolve();
  private readonly liveness: Liveness;
  private readonly ledger: LedgerStore;
  private readonly sweepTimer: ReturnType<typeof setInterval>;
  private readonly unsubscribeFleet: () => void;
  readonly heartbeatMs: number;
  readonly maxFrameBytes: number;

  constructor(private readonly opts: GatewayOptions) {
    this.heartbeatMs = opts.heartbeatMs ?? 20_000;
    this.maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.liveness = new Liveness(opts.clock, opts.deadAfterMs ?? 40_000);
    this.ledger = new LedgerStore(opts.db, opts.clock);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.hardMaxPayload ?? this.maxFrameBytes * 4,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
    });
    this.sweepTimer = setInterval(() => this.sweep(), opts.sweepMs ?? 10_000);
    this.sweepTimer.unref();
    this.unsubscribeFleet = opts.bus.subscribe(topics.fleet, (msg) => this.toBrowsers(msg));
  }

  /** `upgrade` listener for the HTTP server. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    socket.on('error', () => socket.destroy());
    const accept =
      path === routes.deviceSocket.path
        ? this.authDevice(req)
        : path === routes.browserSocket.path
          ? this.authBrowser(req)
          : null;
    if (!accept) {
      rejectUpgrade(socket, new FabricError('not_found', `no websocket endpoint at ${path}`));
      return;
    }
    accept.then(
      (onOpen) => this.wss.handleUpgrade(req, socket, head, onOpen),
      (err: unknown) =>
        rejectUpgrade(socket, err instanceof FabricError ? err : new FabricError('internal', 'upgrade failed')),
    );
  }

  /** Ids of devices connected to this node. */
  connectedDevices(): string[] {
    return [...this.links.keys()];
  }

  /** Dead-device detection: one pass over every connection. */
  sweep(): void {
    for (const id of this.liveness.sweep()) {
      const link = this.links.get(id);
      if (!link) continue;
      this.opts.log.warn(`device ${id} silent for ${this.liveness.deadAfterMs} ms; dropping it`);
      link.ws.close(closeCodes.dead, 'heartbeat missed');
      link.ws.terminate();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.unsubscribeFleet();
    const closing: Promise<void>[] = [];
    for (const link of this.links.values()) closing.push(link.closed);
    for (const link of this.links.values()) link.ws.close(closeCodes.shutdown, 'server shutting down');
    for (const ws of this.browsers.keys()) ws.close(closeCodes.shutdown, 'server shutting down');
    // The 2 s bound must not outlive the race: a pending timer keeps the process up that long after close.
    let bound: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(closing),
      new Promise((r) => {
        bound = setTimeout(r, 2000);
      }),
    ]);
    clearTimeout(bound);
    for (const link of this.links.values()) link.ws.terminate();
    await Promise.all([...this.cleanups]);
    this.wss.close();
  }

  private async authDevice(req: IncomingMessage): Promise<(ws: WebSocket) => void> {
    const claims = await this.opts.tokens.verify(bearerFromProtocols(req), ['device']);
    const device = await getDevice(this.opts.db, claims.sub);
    if (!device)
      throw new FabricError('device_not_found', 'this device is not paired; pair it again with "optimal pair"');
    if (device.revoked_at !== null)
      throw new FabricError('device_revoked', 'this device was revoked; pair it again with "optimal pair"');
    return (ws) => this.openDevice(ws, claims, device.name);
  }

  private async authBrowser(req: IncomingMessage): Promise<(ws: WebSocket) => void> {
    const claims = await this.opts.tokens.verify(browserToken(req), ['browser', 'cli']);
    const user = await this.opts.db
      .selectFrom('users')
      .select(['role'])
      .where('id', '=', claims.sub)
      .executeTakeFirst();
    if (!user) throw new FabricError('token_invalid', 'this account no longer exists');
    const viewer: Viewer = { sub: claims.sub, role: user.role };
    return (ws) => {
      this.browsers.set(ws, viewer);
      ws.on('close', () => this.browsers.delete(ws));
      ws.on('error', () => ws.terminate());
      // Browsers only listen here; anything they send is answered with an error.
      ws.on('message', () =>
        ws.send(
          encodeEnvelope(
            errorEnvelope(
              null,
              'invalid_envelope',
              'the browser socket is receive-only',
              'to_browser',
              this.opts.clock.now(),
            ),
          ),
        ),
      );
    };
  }

  private openDevice(ws: WebSocket, claims: DeviceClaims, name: string): void {
    const id = claims.sub;
    const previous = this.links.get(id);
    if (previous) {
      previous.replaced = true;
      previous.ws.close(closeCodes.replaced, 'replaced by a newer connection');
    }
    const link = new DeviceLink(
      ws,
      claims,
      name,
      this.opts,
      this.heartbeatMs,
      this.maxFrameBytes,
      this.liveness,
      this.ledger,
    );
    this.links.set(id, link);
    const cleanup = link.closed
      .then(async () => {
        if (this.links.get(id) === link) this.links.delete(id);
        if (link.replaced) return;
        await this.opts.db
          .updateTable('devices')
          .set({ online: 0, last_seen_at: this.opts.clock.now() })
          .where('id', '=', id)
          .execute();
        await this.opts.sessions.deviceGone(id);
        this.opts.bus.publish(topics.fleet, { type: 'device', id, online: false } satisfies FleetChange);
      })
      .catch((err: unknown) => this.opts.log.error(`device ${id} cleanup failed: ${String(err)}`));
    this.cleanups.add(cleanup);
    void cleanup.finally(() => this.cleanups.delete(cleanup));
  }

  private toBrowsers(change: FleetChange): void {
    if (this.browsers.size === 0) return;
    this.fanout = this.fanout
      .then(() => this.deliver(change))
      .catch((err: unknown) => this.opts.log.error(`fleet fan-out failed: ${String(err)}`));
  }

  /** Send one fleet change to every browser whose viewer the policy lets see its subject. */
  private async deliver(change: FleetChange): Promise<void> {
    const ts = this.opts.clock.now();
    const maySee = await this.audience(change);
    const envelope: Envelope =
      change.type === 'device'
        ? {
            corrId: newId('flt'),
            type: 'fleet.device',
            direction: 'to_browser',
            ts,
            payload: { id: change.id, online: change.online },
          }
        : change.type === 'board'
          ? {
              corrId: newId('flt'),
              type: 'fleet.board',
              direction: 'to_browser',
              ts,
              payload: { cardId: change.cardId },
            }
          : {
              corrId: newId('flt'),
              type: 'fleet.session',
              direction: 'to_browser',
              ts,
              payload: { id: change.id, status: change.status, deviceId: change.deviceId },
            };
    const line = encodeEnvelope(envelope);
    for (const [ws, viewer] of this.browsers) {
      if (maySee(viewer) && ws.readyState === ws.OPEN) ws.send(line);
    }
  }

  /** Who may see a fleet change's subject: one query for the facts, then the policy per viewer. */
  private async audience(change: FleetChange): Promise<(v: Viewer) => boolean> {
    const { db } = this.opts;
    if (change.type === 'device') {
      const access = (await deviceAccess(db, [change.id])).get(change.id);
      return (v) => (access ? policy.device(v, access, 'read') : v.role === 'owner');
    }
    if (change.type === 'session') {
      const row = await db.selectFrom('sessions').select(['created_by']).where('id', '=', change.id).executeTakeFirst();
      return (v) => (row ? policy.session(v, { createdBy: row.created_by }, 'read') : v.role === 'owner');
    }
    const card = await db
      .selectFrom('board_cards')
      .select(['created_by'])
      .where('id', '=', change.cardId)
      .executeTakeFirst();
    // A deleted card's removal is news only to those who could see it; without its row, to owners.
    return (v) => (card ? policy.card(v, { createdBy: card.created_by }, 'read') : v.role === 'owner');
  }
}

/**
 * A browser socket's token: the bearer subprotocol (scripts), or the session
 * cookie when the page is same-origin (a cross-site page could otherwise
 * open the socket with the user's cookie).
 */
function browserToken(req: IncomingMessage): string {
  try {
    return bearerFromProtocols(req);
  } catch (err) {
    const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (!cookie) throw err;
    const origin = req.headers.origin;
    if (!origin || new URL(origin).host !== req.headers.host) {
      throw new FabricError('forbidden', "a browser socket must come from the cockpit's own origin");
    }
    return cookie;
  }
}

function errorEnvelope(
  corrId: string | null,
  code: ErrorCode,
  message: string,
  direction: 'to_device' | 'to_browser',
  ts: number,
): Envelope {
  return { corrId: corrId ?? newId('err'), type: 'error', direction, ts, payload: { code, message } };
}

/** One device's socket on this node: parses frames, answers errors, feeds the session service. */
class DeviceLink {
  readonly closed: Promise<void>;
  replaced = false;
  private greeted = false;
  private chain: Promise<void> = Promise.resolve();
  /** Highest `dseq` handled on this socket, the highest acknowledged, and whether an ack waits for a commit. */
  private ackUpTo = 0;
  private ackSent = 0;
  private acking = false;
  private readonly unsubscribe: () => void;

  constructor(
    readonly ws: WebSocket,
    private readonly claims: DeviceClaims,
    private readonly name: string,
    private readonly opts: GatewayOptions,
    private readonly heartbeatMs: number,
    private readonly maxFrameBytes: number,
    private readonly liveness: Liveness,
    private readonly ledger: LedgerStore,
  ) {
    this.liveness.touch(claims.sub);
    this.unsubscribe = opts.bus.subscribe(topics.device(claims.sub), (msg) => this.command(msg));
    this.closed = new Promise((resolve) => {
      ws.on('close', () => {
        this.unsubscribe();
        this.liveness.forget(claims.sub);
        resolve(this.chain.catch(() => {}));
      });
    });
    ws.on('error', (err) => opts.log.warn(`device ${claims.sub} socket error: ${err.message}`));
    ws.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
  }

  private command(cmd: DeviceCommand): void {
    if (cmd.type === 'close') this.ws.close(cmd.code, cmd.reason);
    else if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeEnvelope(cmd.envelope));
  }

  private send(envelope: Envelope): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeEnvelope(envelope));
  }

  private fail(corrId: string | null, code: ErrorCode, message: string): void {
    this.send(errorEnvelope(corrId, code, message, 'to_device', this.opts.clock.now()));
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    this.liveness.touch(this.claims.sub);
    if (isBinary) {
      this.fail(null, 'invalid_envelope', 'frames must be utf-8 text, one json envelope each');
      return;
    }
    const parsed = parseFrame(
      data.byteLength > this.maxFrameBytes ? '' : data.toString('utf8'),
      data.byteLength,
      this.maxFrameBytes,
    );
    if (!parsed.ok) {
      this.fail(parsed.corrId, parsed.code, parsed.message);
      return;
    }
    const env = parsed.envelope;
    if (env.direction !== 'to_cloud') {
      this.fail(env.corrId, 'invalid_envelope', `a device may only send direction "to_cloud", not "${env.direction}"`);
      return;
    }
    this.chain = this.chain
      .then(() => this.handle(env))
      .catch((err: unknown) => {
        this.opts.log.error(`device ${this.claims.sub}: ${env.type} failed: ${String(err)}`);
        this.fail(env.corrId, 'internal', 'the control plane could not handle this envelope');
      });
    if (this.opts.writer.backlog > BACKLOG_HIGH && !this.ws.isPaused) {
      this.ws.pause();
      void this.opts.writer.drained().then(() => this.ws.resume());
    }
  }

  private async handle(env: Envelope): Promise<void> {
    const { db, clock, sessions, bus, tokens } = this.opts;
    const id = this.claims.sub;
    if (env.type === 'hello') {
      if (env.payload.deviceId !== id) {
        this.fail(env.corrId, 'forbidden', 'hello names a different device than its token');
        return;
      }
      const now = clock.now();
      await db
        .updateTable('devices')
        .set({
          online: 1,
          last_seen_at: now,
          capabilities: JSON.stringify(env.payload.capabilities),
          ...(env.payload.vaultRecipient ? { vault_recipient: env.payload.vaultRecipient } : {}),
        })
        .where('id', '=', id)
        .execute();
      let token: string | undefined;
      if (this.claims.exp * 1000 - now < (tokenLifetimes.device * 1000) / 2) {
        token = (await tokens.sign('device', { sub: id })).token;
      }
      this.send({
        corrId: env.corrId,
        type: 'welcome',
        direction: 'to_device',
        ts: now,
        payload: {
          deviceId: id,
          name: this.name,
          heartbeatMs: this.heartbeatMs,
          serverTime: now,
          ...(token ? { token } : {}),
        },
      });
      this.greeted = true;
      await sessions.reconcile(id, env.payload.running, env.payload.finished ?? []);
      bus.publish(topics.fleet, { type: 'device', id, online: true } satisfies FleetChange);
      return;
    }
    if (!this.greeted) {
      this.fail(env.corrId, 'invalid_envelope', 'send hello first');
      return;
    }
    if (env.type === 'heartbeat') {
      await db
        .updateTable('devices')
        .set({ last_seen_at: clock.now(), capabilities: JSON.stringify(env.payload.capabilities) })
        .where('id', '=', id)
        .execute();
      return;
    }
    if (env.type === 'ledger.checkpoint') {
      this.send(await answerCheckpoint({ ledger: this.ledger, log: this.opts.log, clock }, id, env));
      return;
    }
    const err = await sessions.fromDevice(id, env);
    if (err) this.fail(env.corrId, err.code, err.message);
    if (env.dseq !== undefined) this.delivered(env.dseq);
  }

  /**
   * `dseq` is handled: acknowledge it (and everything before it, since frames
   * are handled in order) once what its handling appended is committed. Acks
   * ride the writer's group commits: one `delivered` per commit at most, so
   * they cost the relay nothing per event. A failed commit closes the socket
   * instead: the device then sends everything unacknowledged again.
   */
  private delivered(dseq: number): void {
    if (dseq > this.ackUpTo) this.ackUpTo = dseq;
    if (this.acking) return;
    this.acking = true;
    const upTo = this.ackUpTo;
    void this.opts.writer.committed().then((ok) => {
      this.acking = false;
      if (!ok) {
        this.opts.log.warn(`device ${this.claims.sub}: a write failed; closing so the device resends`);
        this.ws.close(1011, 'store write failed');
        return;
      }
      if (upTo > this.ackSent) {
        this.ackSent = upTo;
        this.send({
          corrId: newId('dlv'),
          type: 'delivered',
          direction: 'to_device',
          ts: this.opts.clock.now(),
          payload: { upTo },
        });
      }
      if (this.ackUpTo > this.ackSent) this.delivered(this.ackUpTo);
    });
  }
}

import { join } from 'node:path';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { FabricError } from '@fabric/protocol';
import { Accounts } from './auth/accounts.js';
import { KeyRing } from './auth/keyring.js';
import { Tokens } from './auth/tokens.js';
import { InProcessBus, type Bus } from './bus.js';
import { systemClock, type Clock } from './clock.js';
import type { ServerContext } from './context.js';
import { registerRoutes } from './http/routes.js';
import { parsePublicOrigin } from './auth/passkeys-origin.js';
import { startPush, type Push, type PushOptions } from './push/index.js';
import { CSP, serveCockpit, wantsCockpit } from './http/web.js';
import { BoardStore } from './board/store.js';
import { silentLogger, type Logger } from './log.js';
import { SessionService } from './sessions/service.js';
import { EventWriter } from './sessions/writer.js';
import { openStore, type Db } from './store/db.js';
import { VaultStore } from './vault/store.js';
import { Gateway, type GatewayOptions } from './ws/gateway.js';

export const SERVER_VERSION = '0.1.0';

export interface ServerOptions {
  /** Data directory holding `fabric.db`; ignored when `db` or `database` is given. */
  dataDir?: string;
  /** The store: a PostgreSQL URL (`postgres://…`) or a SQLite file; default `<dataDir>/fabric.db`. */
  database?: string;
  db?: Db;
  bus?: Bus;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  mode?: 'local' | 'cloud';
  clock?: Clock;
  log?: Logger;
  keepaliveMs?: number;
  ackTimeoutMs?: number;
  queueTimeoutMs?: number;
  /** A `lost` session whose device stays away this long fails (default 10 min). */
  lostTimeoutMs?: number;
  /** How often queued sessions are retried and timed out (default 5 s). */
  queueSweepMs?: number;
  keyRotateAfterMs?: number;
  gateway?: Pick<GatewayOptions, 'heartbeatMs' | 'deadAfterMs' | 'sweepMs' | 'maxFrameBytes' | 'hardMaxPayload'>;
  /** The cockpit's build directory (packages/web/dist), served at `/` when given. */
  webRoot?: string;
  /** The cockpit's public origin (FABRIC_PUBLIC_ORIGIN), pinning passkeys' rp id behind a TLS proxy; by default it comes from each request's Host. */
  publicOrigin?: string;
  /** Web Push (cloud mode only). */
  push?: PushOptions;
  /**
   * Check every JSON answer against its route's response schema; a mismatch
   * fails the request (500, logged). For tests: it keeps the route table true.
   */
  checkResponses?: boolean;
}

/** A control plane built but not listening: its routes are registered once `app.ready()` resolves (for `app.inject()`). */
export interface BuiltServer {
  ctx: ServerContext;
  app: FastifyInstance;
  gateway: Gateway;
  /** Web Push; null in local mode, where /api/push answers 410. */
  push: Push | null;
  close(): Promise<void>;
}

/** A control plane listening on `url`. */
export interface RunningServer extends BuiltServer {
  url: string;
  port: number;
}

/** The embedded store's file inside a data directory. */
export function dbFile(dataDir: string): string {
  return join(dataDir, 'fabric.db');
}

/**
 * Build a control plane without listening or starting its timers: store,
 * key ring, HTTP API (the route table, registered when the app gets
 * ready), WebSocket gateway. `startServer` is this, then listen.
 */
export async function buildServer(opts: ServerOptions = {}): Promise<BuiltServer> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? silentLogger;
  const db = opts.db ?? (await openStore(opts.database ?? (opts.dataDir ? dbFile(opts.dataDir) : ':memory:')));
  const bus = opts.bus ?? new InProcessBus();
  const keys = new KeyRing(
    db,
    clock,
    opts.keyRotateAfterMs === undefined ? {} : { rotateAfterMs: opts.keyRotateAfterMs },
  );
  await keys.load();
  const tokens = new Tokens(keys, clock);
  const writer = new EventWriter(db, bus);
  const vault = new VaultStore(db, clock);
  const sessions = new SessionService({
    db,
    bus,
    writer,
    clock,
    vault,
    log,
    ...(opts.ackTimeoutMs ? { ackTimeoutMs: opts.ackTimeoutMs } : {}),
    ...(opts.queueTimeoutMs ? { queueTimeoutMs: opts.queueTimeoutMs } : {}),
    ...(opts.lostTimeoutMs ? { lostTimeoutMs: opts.lostTimeoutMs } : {}),
  });
  const ctx: ServerContext = {
    db,
    bus,
    clock,
    log,
    keys,
    tokens,
    writer,
    sessions,
    vault,
    board: new BoardStore(db, bus, clock, sessions),
    accounts: new Accounts(db, tokens, clock),
    mode: opts.mode ?? (process.env.FABRIC_MODE === 'local' ? 'local' : 'cloud'),
    version: SERVER_VERSION,
    keepaliveMs: opts.keepaliveMs ?? 15_000,
  };

  // A restart forgets every socket: devices reconnect and say hello again, and until
  // they do, what they were running is `lost` (their hello reclaims it). This assumes
  // one control-plane node per store; the multi-node issue records which node holds a device.
  const wereOnline = await db.selectFrom('devices').select('id').where('online', '=', 1).execute();
  await db.updateTable('devices').set({ online: 0 }).where('online', '=', 1).execute();
  for (const { id } of wereOnline) await sessions.deviceGone(id);

  // On shutdown, cut open streams too: SSE clients resume elsewhere (or after restart) with Last-Event-ID.
  const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024, trustProxy: false, forceCloseConnections: true });
  app.setErrorHandler((err: FastifyError | FabricError, _req, reply) => {
    if (err instanceof FabricError) {
      void reply.code(err.status).send(err.toBody());
      return;
    }
    const fe = err;
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      void reply.code(413).send({ code: 'frame_too_large', message: 'request body is too large' });
    } else if (
      fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
      fe instanceof SyntaxError
    ) {
      void reply.code(400).send({ code: 'malformed_json', message: 'request body is not valid json' });
    } else if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      void reply.code(fe.statusCode).send({ code: 'bad_request', message: fe.message.toLowerCase() });
    } else {
      log.error(`request failed: ${fe.stack ?? String(fe)}`);
      void reply.code(500).send({ code: 'internal', message: 'internal error; see the server log' });
    }
  });
  const cockpit = opts.webRoot ? await serveCockpit(app, opts.webRoot) : false;
  app.setNotFoundHandler((req, reply) => {
    if (cockpit && wantsCockpit(req.method, req.url, req.headers.accept)) {
      void reply.header('Content-Security-Policy', CSP).header('Cache-Control', 'no-cache').sendFile('index.html');
      return;
    }
    void reply.code(404).send({ code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  const push = ctx.mode === 'cloud' ? await startPush(ctx, opts.push) : null;
  // Every route of the table, with its authentication and validation; cloud-only ones answer 410 in local mode.
  // A plugin, so registration waits for ready() and a caller may watch it (onRoute) before.
  void app.register(async (api) => {
    registerRoutes(api, ctx, {
      publicOrigin: parsePublicOrigin(opts.publicOrigin ?? process.env.FABRIC_PUBLIC_ORIGIN),
      push,
      checkResponses: opts.checkResponses ?? false,
    });
  });

  const gateway = new Gateway({ db, bus, tokens, sessions, writer, clock, log, ...opts.gateway });
  app.server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));

  let closing: Promise<void> | null = null;
  return {
    ctx,
    app,
    gateway,
    push,
    close() {
      closing ??= (async () => {
        ctx.board.close();
        await push?.close();
        await sessions.close();
        await gateway.close();
        await app.close();
        await writer.drained();
        await bus.close();
        if (!opts.db) await db.destroy();
      })();
      return closing;
    },
  };
}

/**
 * Start a control plane: {@link buildServer}, its key rotation and queue
 * timers, and listen on 127.0.0.1 unless `host` says otherwise.
 */
export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const built = await buildServer(opts);
  const { app, ctx } = built;
  const { keys, log, sessions } = ctx;

  // Rotate the signing key when due (and pick up keys another node rotated in).
  const rotation = setInterval(
    () => {
      keys.load().catch((err: unknown) => log.error(`key rotation failed: ${String(err)}`));
    },
    60 * 60 * 1000,
  );
  rotation.unref();
  const queueSweep = setInterval(() => {
    sessions.retryQueued().catch((err: unknown) => log.error(`queue retry failed: ${String(err)}`));
  }, opts.queueSweepMs ?? 5000);
  queueSweep.unref();

  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 7300 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 7300);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  log.info(`control plane listening on http://${shownHost}:${port}`);

  return {
    ...built,
    url: `http://${shownHost}:${port}`,
    port,
    close() {
      clearInterval(rotation);
      clearInterval(queueSweep);
      return built.close();
    },
  };
}

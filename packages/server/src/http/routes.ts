import type { FastifyInstance } from 'fastify';
import {
  FabricError,
  approvalDecisionRequestSchema,
  cancelSessionRequestSchema,
  deviceShareRequestSchema,
  createSessionRequestSchema,
  inviteRequestSchema,
  loginRequestSchema,
  pairRequestSchema,
  redeemRequestSchema,
  sessionInputRequestSchema,
  updateDeviceRequestSchema,
} from '@fabric/protocol';
import { requireTrustedBrowser } from '../auth/passkeys-trust.js';
import { readFuel } from '../fuel/query.js';
import { z } from 'zod';
import { topics } from '../bus.js';
import type { ServerContext } from '../context.js';
import type { DeviceCommand, FleetChange } from '../bus.js';
import { policy } from '../auth/policy.js';
import { assertDeviceNameFree, deviceFor, deviceViewOf, listDevices } from '../store/devices.js';
import { getSessionView, listSessionViews, readEvents, sessionFor } from '../store/sessions.js';
import { clearSessionCookie, requireUser, setSessionCookie } from './auth.js';
import { answerRetryAfter, RateLimiter } from './ratelimit.js';
import { IdempotentCreates, idempotencyKeyOf } from './idempotency.js';
import { streamSession } from './sse.js';
import { parse } from './validate.js';

const idParams = z.object({ id: z.string().min(1).max(128) });
const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  device: z.string().max(128).optional(),
  status: z.string().max(32).optional(),
});
const shareParams = z.object({ id: z.string().min(1).max(128), user: z.string().min(1).max(64) });
const approvalParams = z.object({ id: z.string().min(1).max(128), req: z.string().min(1).max(128) });
const fuelQuery = z.object({
  /** The client's `Date#getTimezoneOffset()`, so "today" is its own day. */
  tzOffset: z.coerce.number().int().min(-840).max(840).default(0),
});
const eventsQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
});

export function registerRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { db, accounts, sessions } = ctx;
  // One budget per door, so failing at one never locks another: per address, and per account name for sign-in.
  const signInByAddress = new RateLimiter(ctx.clock, 10, 60_000);
  const signInByAccount = new RateLimiter(ctx.clock, 10, 60_000);
  const redeemLimiter = new RateLimiter(ctx.clock, 10, 60_000);
  const pairLimiter = new RateLimiter(ctx.clock, 10, 60_000);
  answerRetryAfter(app);
  const idempotent = new IdempotentCreates(db, ctx.clock);

  app.get('/healthz', async () => {
    const row = await db
      .selectFrom('devices')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('online', '=', 1)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return { ok: true, version: ctx.version, mode: ctx.mode, devicesOnline: Number(row?.n ?? 0) };
  });

  // ---- people ---------------------------------------------------------------
  app.post('/api/auth/redeem', async (req, reply) => {
    const body = parse(redeemRequestSchema, req.body);
    const auth = await redeemLimiter.guard(`ip:${req.ip}`, ['invite_invalid'], () =>
      accounts.redeem(body.code, body.name, body.password, body.client),
    );
    if (body.client === 'browser') setSessionCookie(req, reply, auth.token);
    reply.code(201);
    return auth;
  });

  // Only failed attempts spend the budgets (per address, per account name): guessing is slowed, people who type it right never are.
  app.post('/api/auth/login', async (req, reply) => {
    const body = parse(loginRequestSchema, req.body);
    const auth = await signInByAddress.guard(`ip:${req.ip}`, ['login_failed'], () =>
      signInByAccount.guard(`name:${body.name}`, ['login_failed'], () =>
        accounts.login(body.name, body.password, body.client),
      ),
    );
    if (body.client === 'browser') {
      // The 30-day rule: once an account has a passkey, a browser uses the password only while it is trusted.
      await requireTrustedBrowser(ctx, req, auth.user.id);
      setSessionCookie(req, reply, auth.token);
    }
    return auth;
  });

  /** Browsers: forget the session cookie. */
  app.post('/api/auth/logout', async (_req, reply) => {
    clearSessionCookie(reply);
    return { ok: true };
  });

  app.get('/api/auth/me', async (req) => {
    const user = await requireUser(ctx, req);
    return { id: user.sub, name: user.name, role: user.role, expiresAt: user.exp * 1000 };
  });

  app.post('/api/auth/invites', async (req, reply) => {
    const user = await requireUser(ctx, req);
    if (!policy.account(user, 'invite')) throw new FabricError('forbidden', 'only an owner can invite people');
    const body = parse(inviteRequestSchema, req.body);
    reply.code(201);
    return accounts.createInvite(user.sub, body.role);
  });

  // ---- devices --------------------------------------------------------------
  app.post('/api/devices/pairing-tokens', async (req, reply) => {
    const user = await requireUser(ctx, req);
    reply.code(201);
    return accounts.createPairingToken(user.sub);
  });

  app.post('/api/devices/pair', async (req, reply) => {
    const body = parse(pairRequestSchema, req.body);
    reply.code(201);
    return pairLimiter.guard(`ip:${req.ip}`, ['pairing_token_invalid'], () =>
      accounts.pair(body.token, body.name, body.vaultRecipient ?? null),
    );
  });

  app.get('/api/devices', async (req) => {
    const user = await requireUser(ctx, req);
    return { devices: await listDevices(db, user) };
  });

  app.get('/api/devices/:id', async (req) => {
    const user = await requireUser(ctx, req);
    const { id } = parse(idParams, req.params, 'params');
    const { row } = await deviceFor(db, user, id, 'read');
    return deviceViewOf(db, row.id);
  });

  app.patch('/api/devices/:id', async (req) => {
    const user = await requireUser(ctx, req);
    const { id } = parse(idParams, req.params, 'params');
    const body = parse(updateDeviceRequestSchema, req.body);
    const { row: device } = await deviceFor(db, user, id, 'manage');
    const patch: { name?: string; draining?: number; priority?: number } = {};
    if (body.name !== undefined && body.name !== device.name) await assertDeviceNameFree(db, body.name, device.id);
    if (body.name !== undefined) patch.name = body.name;
    if (body.draining !== undefined) patch.draining = body.draining ? 1 : 0;
    if (body.priority !== undefined) patch.priority = body.priority;
    if (Object.keys(patch).length === 0)
      throw new FabricError('bad_request', 'body: nothing to change (name, draining, priority)');
    await db.updateTable('devices').set(patch).where('id', '=', device.id).execute();
    // Undraining or a new priority can place waiting sessions.
    if (body.draining === false || body.priority !== undefined) sessions.retryQueued().catch(() => {});
    return deviceViewOf(db, device.id);
  });

  app.post('/api/devices/:id/revoke', async (req) => {
    const user = await requireUser(ctx, req);
    const { id: idOrName } = parse(idParams, req.params, 'params');
    const { row: device } = await deviceFor(db, user, idOrName, 'manage');
    const id = device.id;
    if (device.revoked_at === null) {
      await db.updateTable('devices').set({ revoked_at: ctx.clock.now(), online: 0 }).where('id', '=', id).execute();
      ctx.bus.publish(topics.device(id), {
        type: 'close',
        code: 4003,
        reason: 'device_revoked',
      } satisfies DeviceCommand);
      await sessions.deviceGone(id);
      ctx.bus.publish(topics.fleet, { type: 'device', id, online: false } satisfies FleetChange);
    }
    return deviceViewOf(db, id);
  });

  // Sharing: owners decide who else may see and use a device.
  app.post('/api/devices/:id/shares', async (req, reply) => {
    const user = await requireUser(ctx, req);
    const { id } = parse(idParams, req.params, 'params');
    const body = parse(deviceShareRequestSchema, req.body);
    const { row: device, access } = await deviceFor(db, user, id, 'share');
    const target = await db.selectFrom('users').select(['id', 'name']).where('name', '=', body.user).executeTakeFirst();
    if (!target) throw new FabricError('not_found', `no person named ${body.user}`);
    if (target.id === access.ownerId)
      throw new FabricError('conflict', `${target.name} paired ${device.name}; it is already theirs`);
    await db
      .insertInto('device_shares')
      .values({ device_id: device.id, user_id: target.id, created_by: user.sub, created_at: ctx.clock.now() })
      .onConflict((oc) => oc.columns(['device_id', 'user_id']).doNothing())
      .execute();
    ctx.bus.publish(topics.fleet, {
      type: 'device',
      id: device.id,
      online: device.online === 1 && device.revoked_at === null,
    } satisfies FleetChange);
    sessions.retryQueued().catch(() => {});
    reply.code(201);
    return deviceViewOf(db, device.id);
  });

  app.delete('/api/devices/:id/shares/:user', async (req) => {
    const user = await requireUser(ctx, req);
    const { id, user: name } = parse(shareParams, req.params, 'params');
    const { row: device } = await deviceFor(db, user, id, 'share');
    const target = await db.selectFrom('users').select(['id']).where('name', '=', name).executeTakeFirst();
    if (!target) throw new FabricError('not_found', `no person named ${name}`);
    await db.deleteFrom('device_shares').where('device_id', '=', device.id).where('user_id', '=', target.id).execute();
    ctx.bus.publish(topics.fleet, {
      type: 'device',
      id: device.id,
      online: device.online === 1 && device.revoked_at === null,
    } satisfies FleetChange);
    return deviceViewOf(db, device.id);
  });

  // ---- sessions -------------------------------------------------------------
  // A retry with the same Idempotency-Key answers 201 with the same session (and `Idempotent-Replayed: true`); no second run starts.
  app.post('/api/sessions', async (req, reply) => {
    const user = await requireUser(ctx, req);
    const body = parse(createSessionRequestSchema, req.body);
    const key = idempotencyKeyOf(req.headers);
    if (key === null) {
      reply.code(201);
      return sessions.create(user, body);
    }
    const { view, replayed } = await idempotent.create(user.sub, key, body, (id) => sessions.create(user, body, id));
    if (replayed) reply.header('idempotent-replayed', 'true');
    reply.code(201);
    return view;
  });

  app.get('/api/sessions', async (req) => {
    const user = await requireUser(ctx, req);
    const q = parse(listQuery, req.query, 'query');
    return {
      sessions: await listSessionViews(db, { limit: q.limit, deviceId: q.device, status: q.status, viewer: user }),
    };
  });

  app.get('/api/sessions/:id', async (req) => {
    const user = await requireUser(ctx, req);
    const { id } = parse(idParams, req.params, 'params');
    await sessionFor(db, user, id, 'read');
    return (await getSessionView(db, id))!;
  });

  app.get('/api/sessions/:id/events', async (req) => {
    const user = await requireUser(ctx, req);
    const { id } = parse(idParams, req.params, 'params');
    const q = parse(eventsQuery, req.query, 'query');
    await sessionFor(db, user, id, 'read');
    return { session: (await getSessionView(db, id))!, events: await readEvents(db, id, q.after, q.limit) };
  });

  app.get('/api/sessions/:id/stream', async (req, reply) => {
    const user = await requireUser(ctx, req);
    const { id } = parse(idParams, req.params, 'params');
    await sessionFor(db, user, id, 'read');
    await streamSession(ctx, req, reply, id);
  });

  app.post('/api/sessions/:id/input', async (req, reply) => {
    const user = await requireUser(ctx, req);
    const { id } = parse(idParams, req.params, 'params');
    await sessionFor(db, user, id, 'steer');
    const body = parse(sessionInputRequestSchema, req.body);
    const event = await sessions.input(id, body.data, body.eof ?? false);
    reply.code(202);
    return { seq: event.seq };
  });

  app.get('/api/sessions/:id/approvals', async (req) => {
    const user = await requireUser(ctx, req);
    const { id } = parse(idParams, req.params, 'params');
    await sessionFor(db, user, id, 'read');
    return { approvals: await sessions.approvals.list(id) };
  });

  // Approvals are answered only by the session's creator or an owner.
  app.post('/api/sessions/:id/approvals/:req', async (req) => {
    const user = await requireUser(ctx, req);
    const { id, req: requestId } = parse(approvalParams, req.params, 'params');
    await sessionFor(db, user, id, 'steer');
    const body = parse(approvalDecisionRequestSchema, req.body);
    return sessions.approvals.decide(id, requestId, body.decision, body.reason, user.sub);
  });

  app.get('/api/fuel', async (req) => {
    const user = await requireUser(ctx, req);
    const q = parse(fuelQuery, req.query, 'query');
    // A member's meter counts their own sessions; an owner's, the whole fleet.
    return readFuel(db, ctx.clock.now(), q.tzOffset, policy.account(user, 'read_all_fuel') ? null : user.sub);
  });

  app.post('/api/sessions/:id/cancel', async (req, reply) => {
    const user = await requireUser(ctx, req);
    const { id } = parse(idParams, req.params, 'params');
    await sessionFor(db, user, id, 'steer');
    const body = parse(cancelSessionRequestSchema, req.body);
    reply.code(202);
    return sessions.cancel(id, body.reason);
  });
}

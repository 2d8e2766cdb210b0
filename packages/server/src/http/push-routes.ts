import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import type { Push } from '../push/index.js';
import { subscriptionRequestSchema, unsubscribeRequestSchema } from '../push/subscriptions.js';
import { requireUser } from './auth.js';
import { parse } from './validate.js';

/**
 * Web Push, opt-in per browser (cloud mode; local mode answers 410, see web.ts):
 * - `GET /api/push/key`: the VAPID public key for `pushManager.subscribe`;
 * - `POST /api/push/subscriptions {endpoint, keys: {p256dh, auth}}`: this browser's subscription;
 * - `DELETE /api/push/subscriptions {endpoint}`: forget it;
 * - `GET /api/push/subscriptions`: the user's subscribed browsers (push service origins only).
 */
export function registerPushRoutes(app: FastifyInstance, ctx: ServerContext, push: Push): void {
  app.get('/api/push/key', async (req) => {
    await requireUser(ctx, req);
    return { publicKey: push.vapid.publicKey };
  });

  app.post('/api/push/subscriptions', async (req, reply) => {
    const user = await requireUser(ctx, req);
    const body = parse(subscriptionRequestSchema, req.body);
    reply.code(201);
    return push.subscriptions.subscribe(user.sub, body);
  });

  app.delete('/api/push/subscriptions', async (req) => {
    const user = await requireUser(ctx, req);
    const body = parse(unsubscribeRequestSchema, req.body);
    return { removed: await push.subscriptions.unsubscribe(user.sub, body.endpoint) };
  });

  app.get('/api/push/subscriptions', async (req) => {
    const user = await requireUser(ctx, req);
    return { subscriptions: await push.subscriptions.list(user.sub) };
  });
}

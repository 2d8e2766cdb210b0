import { z } from 'zod';
import { defineRoutes } from './route.js';

const b64url = z.string().regex(/^[A-Za-z0-9_-]+={0,2}$/, 'must be base64url');

/** The body of `POST /api/push/subscriptions`: what `PushSubscription.toJSON()` gives in a browser. */
export const subscriptionRequestSchema = z.object({
  endpoint: z.string().min(12).max(2048),
  expirationTime: z.number().nullable().optional(),
  keys: z.object({
    /** The browser's P-256 public key: 65 bytes, uncompressed. */
    p256dh: b64url.max(200),
    /** The 16-byte authentication secret. */
    auth: b64url.max(64),
  }),
});
export type SubscriptionRequest = z.infer<typeof subscriptionRequestSchema>;

export const unsubscribeRequestSchema = z.object({ endpoint: z.string().min(1).max(2048) });

/** A subscription as its owner sees it: the push service's origin, never the endpoint (a bearer capability). */
export const subscriptionViewSchema = z.object({
  id: z.string(),
  service: z.string(),
  createdAt: z.number(),
  lastSentAt: z.number().nullable(),
});
export type SubscriptionView = z.infer<typeof subscriptionViewSchema>;

/** Web Push, opt-in per browser. */
export const pushRoutes = defineRoutes({
  pushKey: {
    method: 'GET',
    path: '/api/push/key',
    tag: 'push',
    summary: 'the VAPID public key for `pushManager.subscribe`',
    auth: 'user',
    response: z.object({ publicKey: z.string() }),
    cloudOnly: true,
  },
  subscribePush: {
    method: 'POST',
    path: '/api/push/subscriptions',
    tag: 'push',
    summary: "this browser's push subscription, for the signed-in person",
    auth: 'user',
    body: subscriptionRequestSchema,
    status: 201,
    response: subscriptionViewSchema,
    cloudOnly: true,
  },
  unsubscribePush: {
    method: 'DELETE',
    path: '/api/push/subscriptions',
    tag: 'push',
    summary: 'forget a push subscription',
    auth: 'user',
    body: unsubscribeRequestSchema,
    response: z.object({ removed: z.boolean() }),
    cloudOnly: true,
  },
  listPushSubscriptions: {
    method: 'GET',
    path: '/api/push/subscriptions',
    tag: 'push',
    summary: "the signed-in person's subscribed browsers (push service origins only)",
    auth: 'user',
    response: z.object({ subscriptions: z.array(subscriptionViewSchema) }),
    cloudOnly: true,
  },
});

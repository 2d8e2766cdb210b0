import { isIP } from 'node:net';
import {
  FabricError,
  newId,
  subscriptionRequestSchema,
  unsubscribeRequestSchema,
  type SubscriptionRequest,
  type SubscriptionView,
} from '@fabric/protocol';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';

const MAX_PER_USER = 20;

/** The push request bodies are the route table's; exported here too, where the store that takes them lives. */
export { subscriptionRequestSchema, unsubscribeRequestSchema };
export type { SubscriptionRequest, SubscriptionView };

/** A stored subscription, as the sender needs it. */
export interface StoredSubscription {
  id: string;
  userId: string;
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface SubscriptionRules {
  /**
   * Accept endpoints on loopback, private or link-local addresses and
   * `localhost`. Off by default so a signed-in user cannot point the server's
   * pushes at its own network; tests and a private push service turn it on.
   */
  allowPrivateEndpoints?: boolean;
}

/**
 * Web Push subscriptions, one per browser (its endpoint is unique) for the
 * user who signed in there. Subscribing again from the same browser
 * replaces the row, also when another user now signs in there.
 */
export class PushSubscriptions {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly rules: SubscriptionRules = {},
  ) {}

  /** Store (or move to `userId`) the browser's subscription. Throws `bad_request` for an endpoint or keys that cannot be used. */
  async subscribe(userId: string, req: SubscriptionRequest): Promise<SubscriptionView> {
    const endpoint = this.checkEndpoint(req.endpoint);
    const p256dh = Buffer.from(req.keys.p256dh, 'base64url');
    const auth = Buffer.from(req.keys.auth, 'base64url');
    if (p256dh.length !== 65 || p256dh[0] !== 0x04)
      throw new FabricError('bad_request', 'body.keys.p256dh: must be an uncompressed p-256 public key (65 bytes)');
    if (auth.length !== 16) throw new FabricError('bad_request', 'body.keys.auth: must be 16 bytes');
    const now = this.clock.now();
    const id = newId('push');
    const row = await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('push_subscriptions').where('endpoint', '=', endpoint).execute();
      await trx
        .insertInto('push_subscriptions')
        .values({
          id,
          user_id: userId,
          endpoint,
          p256dh: p256dh.toString('base64url'),
          auth: auth.toString('base64url'),
          created_at: now,
          last_sent_at: null,
        })
        .execute();
      // A user keeps their newest subscriptions; browsers long gone drop off.
      const old = await trx
        .selectFrom('push_subscriptions')
        .select('id')
        .where('user_id', '=', userId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .offset(MAX_PER_USER)
        .limit(1000)
        .execute();
      if (old.length > 0)
        await trx
          .deleteFrom('push_subscriptions')
          .where(
            'id',
            'in',
            old.map((o) => o.id),
          )
          .execute();
      return { id, created_at: now, endpoint, last_sent_at: null };
    });
    return view(row);
  }

  /** Forget `userId`'s subscription for `endpoint`; false when there was none. */
  async unsubscribe(userId: string, endpoint: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('push_subscriptions')
      .where('endpoint', '=', endpoint)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async list(userId: string): Promise<SubscriptionView[]> {
    const rows = await this.db
      .selectFrom('push_subscriptions')
      .select(['id', 'endpoint', 'created_at', 'last_sent_at'])
      .where('user_id', '=', userId)
      .orderBy('created_at', 'asc')
      .execute();
    return rows.map(view);
  }

  /** Every subscription of these users. */
  async forUsers(userIds: readonly string[]): Promise<StoredSubscription[]> {
    if (userIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('push_subscriptions')
      .selectAll()
      .where('user_id', 'in', [...userIds])
      .execute();
    return rows.map((r) => ({
      id: r.id,
      userId: r.user_id,
      endpoint: r.endpoint,
      keys: { p256dh: r.p256dh, auth: r.auth },
    }));
  }

  /** The push service said this subscription is gone (404/410). */
  async expire(id: string): Promise<void> {
    await this.db.deleteFrom('push_subscriptions').where('id', '=', id).execute();
  }

  async delivered(id: string): Promise<void> {
    await this.db
      .updateTable('push_subscriptions')
      .set({ last_sent_at: this.clock.now() })
      .where('id', '=', id)
      .execute();
  }

  private checkEndpoint(raw: string): string {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new FabricError('bad_request', 'body.endpoint: must be a url');
    }
    // web-push speaks HTTPS only, as every push service does.
    if (url.protocol !== 'https:') throw new FabricError('bad_request', 'body.endpoint: must be an https url');
    if (url.username || url.password) throw new FabricError('bad_request', 'body.endpoint: must not carry credentials');
    if (!this.rules.allowPrivateEndpoints && isPrivateHost(url.hostname)) {
      throw new FabricError('bad_request', 'body.endpoint: must be a public push service');
    }
    return url.href;
  }
}

/** localhost, or an IP literal in a loopback, private, link-local or unique-local range. Names are not resolved. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const kind = isIP(host);
  if (kind === 4) {
    const [a, b] = host.split('.').map(Number) as [number, number];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (kind === 6) {
    if (host === '::1' || host === '::') return true;
    if (host.startsWith('::ffff:')) return true; // IPv4-mapped: refuse rather than parse both forms
    return /^f[cd]/.test(host) || /^fe[89ab]/.test(host);
  }
  return false;
}

function view(r: { id: string; endpoint: string; created_at: number; last_sent_at: number | null }): SubscriptionView {
  return {
    id: r.id,
    service: new URL(r.endpoint).origin,
    createdAt: Number(r.created_at),
    lastSentAt: r.last_sent_at === null ? null : Number(r.last_sent_at),
  };
}

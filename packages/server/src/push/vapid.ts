import webpush from 'web-push';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';

/** The control plane's VAPID identity: the public key browsers subscribe with, the private key that signs each push. */
export interface VapidKeys {
  /** Uncompressed P-256 point, base64url (what `applicationServerKey` takes). */
  publicKey: string;
  /** P-256 private scalar, base64url. Never leaves the store or this process. */
  privateKey: string;
}

const ROW = 'default';

/**
 * The VAPID key pair, made once on first start and kept in the store so
 * every node and every restart signs with the same key (a new key would
 * orphan every browser's subscription). Safe when several nodes start at
 * once: the first insert wins and everyone reads it back.
 */
export async function loadVapidKeys(db: Db, clock: Clock): Promise<VapidKeys> {
  const existing = await db
    .selectFrom('push_vapid')
    .select(['public_key', 'private_key'])
    .where('id', '=', ROW)
    .executeTakeFirst();
  if (existing) return { publicKey: existing.public_key, privateKey: existing.private_key };
  const made = webpush.generateVAPIDKeys();
  await db
    .insertInto('push_vapid')
    .values({ id: ROW, public_key: made.publicKey, private_key: made.privateKey, created_at: clock.now() })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const row = await db
    .selectFrom('push_vapid')
    .select(['public_key', 'private_key'])
    .where('id', '=', ROW)
    .executeTakeFirstOrThrow();
  return { publicKey: row.public_key, privateKey: row.private_key };
}

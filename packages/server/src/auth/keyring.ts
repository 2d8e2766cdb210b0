import { randomBytes } from 'node:crypto';
import { tokenLifetimes } from '@fabric/protocol';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';

interface SigningKey {
  kid: string;
  secret: Uint8Array;
  createdAt: number;
  retiredAt: number | null;
}

export interface KeyRingOptions {
  /** Make a new signing key when the current one is older than this (default 7 days). */
  rotateAfterMs?: number;
}

const DAY = 24 * 60 * 60 * 1000;
/** A retired key verifies until every token it signed has expired. */
const LONGEST_TOKEN_MS = Math.max(...Object.values(tokenLifetimes)) * 1000;

/**
 * HS256 signing keys, persisted in the store so every control-plane node and
 * every restart agrees. The newest key signs; older keys keep verifying for
 * the longest token lifetime after they were retired, then are forgotten.
 */
export class KeyRing {
  private keys: SigningKey[] = [];
  private readonly rotateAfterMs: number;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    opts: KeyRingOptions = {},
  ) {
    this.rotateAfterMs = opts.rotateAfterMs ?? 7 * DAY;
  }

  /** Load keys and rotate if the current one is due (or none exists). */
  async load(): Promise<void> {
    await this.reload();
    const current = this.keys[0];
    if (!current || this.clock.now() - current.createdAt >= this.rotateAfterMs) await this.rotate();
  }

  /** Re-read keys from the store (another node may have rotated). */
  async reload(): Promise<void> {
    const rows = await this.db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'desc').execute();
    // The unretired key signs, even if a rotation happened within the same millisecond.
    rows.sort((a, b) => Number(a.retired_at !== null) - Number(b.retired_at !== null));
    this.keys = rows.map((r) => ({
      kid: r.kid,
      secret: Buffer.from(r.secret, 'base64url'),
      createdAt: Number(r.created_at),
      retiredAt: r.retired_at === null ? null : Number(r.retired_at),
    }));
  }

  /** Make a new signing key; the previous one is retired but still verifies. */
  async rotate(): Promise<void> {
    const now = this.clock.now();
    const kid = `k${now.toString(36)}${randomBytes(3).toString('hex')}`;
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('signing_keys').set({ retired_at: now }).where('retired_at', 'is', null).execute();
      await trx
        .insertInto('signing_keys')
        .values({ kid, secret: randomBytes(32).toString('base64url'), created_at: now, retired_at: null })
        .execute();
      await trx
        .deleteFrom('signing_keys')
        .where('retired_at', '<', now - LONGEST_TOKEN_MS)
        .execute();
    });
    await this.reload();
  }

  /** The key that signs new tokens. */
  current(): { kid: string; secret: Uint8Array } {
    const key = this.keys[0];
    if (!key) throw new Error('key ring not loaded');
    return key;
  }

  /** The key for `kid` if it may still verify, else null. */
  verifying(kid: string | undefined): Uint8Array | null {
    const key = this.keys.find((k) => k.kid === kid);
    if (!key) return null;
    if (key.retiredAt !== null && this.clock.now() - key.retiredAt > LONGEST_TOKEN_MS) return null;
    return key.secret;
  }
}

import { createHash } from 'node:crypto';
import { FabricError, newId, type SessionView } from '@fabric/protocol';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';
import { getSessionView } from '../store/sessions.js';

/** How long a key is remembered: a retry within this window returns the first answer. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** A claim whose session never appeared for this long was abandoned (its server died before creating it). */
const ABANDONED_MS = 30_000;

/** The result of an idempotent create: the session, and whether it was made by an earlier request. */
export interface IdempotentResult {
  view: SessionView;
  replayed: boolean;
}

/**
 * Session creation keyed by (person, `Idempotency-Key`). The key's row is
 * claimed before the session exists and holds the session id reserved for
 * it, so a retry (sequential or concurrent, on this node or after a restart)
 * finds the same session and never starts a second run. The same key with a
 * different body is a `conflict`. A create that fails releases its key, so
 * failures are not remembered and a retry tries again.
 */
export class IdempotentCreates {
  private readonly inflight = new Map<string, Promise<SessionView>>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async create(
    userId: string,
    key: string,
    body: unknown,
    run: (sessionId: string) => Promise<SessionView>,
  ): Promise<IdempotentResult> {
    const hash = bodyHash(body);
    const slot = `${userId}\n${key}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = this.clock.now();
      await this.db
        .deleteFrom('idempotency_keys')
        .where('created_at', '<', now - IDEMPOTENCY_TTL_MS)
        .execute();
      const sessionId = newId('ses');
      const claimed = await this.db
        .insertInto('idempotency_keys')
        .values({ user_id: userId, key, body_hash: hash, session_id: sessionId, created_at: now })
        .onConflict((oc) => oc.columns(['user_id', 'key']).doNothing())
        .executeTakeFirst();
      if (Number(claimed.numInsertedOrUpdatedRows ?? 0n) === 1) {
        const running = run(sessionId)
          .catch(async (err: unknown) => {
            await this.release(userId, key, sessionId);
            throw err;
          })
          .finally(() => this.inflight.delete(slot));
        this.inflight.set(slot, running);
        return { view: await running, replayed: false };
      }

      const row = await this.db
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('user_id', '=', userId)
        .where('key', '=', key)
        .executeTakeFirst();
      if (!row) continue; // released (its create failed) or expired meanwhile: claim it afresh
      if (row.body_hash !== hash) {
        throw new FabricError(
          'conflict',
          'this idempotency-key was sent with a different request; use a new key for a new session',
        );
      }
      const pending = this.inflight.get(slot);
      if (pending) return { view: await pending, replayed: true };
      const view = await getSessionView(this.db, row.session_id);
      if (view) return { view, replayed: true };
      if (now - Number(row.created_at) > ABANDONED_MS) {
        await this.release(userId, key, row.session_id);
        continue;
      }
      // Another node holds the claim and is still creating.
      throw new FabricError(
        'conflict',
        'a request with this idempotency-key is still being handled; retry in a moment',
      );
    }
    throw new FabricError('conflict', 'this idempotency-key keeps changing hands; retry in a moment');
  }

  private async release(userId: string, key: string, sessionId: string): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('user_id', '=', userId)
      .where('key', '=', key)
      .where('session_id', '=', sessionId)
      .execute();
  }
}

/** sha256 of the body as canonical JSON (keys sorted), so key order does not make two requests differ. */
export function bodyHash(body: unknown): string {
  return createHash('sha256').update(canonical(body)).digest('hex');
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JSON.stringify returns undefined for undefined
  return JSON.stringify(v) ?? 'null';
}

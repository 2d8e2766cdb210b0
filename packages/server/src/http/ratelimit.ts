import type { FastifyInstance } from 'fastify';
import { FabricError } from '@fabric/protocol';
import type { Clock } from '../clock.js';

/** `rate_limited`, with how long to wait: the HTTP answer carries it as `Retry-After` (see `answerRetryAfter`). */
export class RateLimitedError extends FabricError {
  constructor(readonly retryAfterS: number) {
    super('rate_limited', `too many attempts; try again in ${retryAfterS} s`);
  }
}

/**
 * Fixed-window limiter per key: at most `limit` hits per `windowMs`. Small
 * and in-memory; it guards guessing on one node. Each thing that can be
 * guessed (passwords, pairing tokens, invite codes, passkey ceremonies) has
 * its own limiter, so spending one budget never locks another door; keys
 * name what is guarded (`ip:…`, `name:…`), so a caller can be limited per
 * address and per account at once.
 */
export class RateLimiter {
  private readonly hits = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /**
   * Run `attempt` unless one of `keys` is over its budget; only attempts that
   * fail with a FabricError of a code in `failures` spend budget (one hit on
   * every key), so people who get it right are never locked out while
   * guessing is. The attempt's own error is thrown, never replaced.
   */
  async guard<T>(keys: string | readonly string[], failures: readonly string[], attempt: () => Promise<T>): Promise<T> {
    const all = typeof keys === 'string' ? [keys] : keys;
    for (const key of all) this.check(key);
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof FabricError && failures.includes(err.code)) for (const key of all) this.spend(key);
      throw err;
    }
  }

  /** Throws `rate_limited` when `key` has already spent its budget in this window (spends nothing). */
  check(key: string): void {
    const entry = this.hits.get(key);
    const now = this.clock.now();
    if (entry && now - entry.start < this.windowMs && entry.count >= this.limit) throw this.refusal(entry.start, now);
  }

  /** Spend one hit; throws `rate_limited` when `key` is over its budget. */
  take(key: string): void {
    const entry = this.spend(key);
    if (entry.count > this.limit) throw this.refusal(entry.start, this.clock.now());
  }

  private spend(key: string): { start: number; count: number } {
    const now = this.clock.now();
    const entry = this.hits.get(key);
    if (!entry || now - entry.start >= this.windowMs) {
      if (this.hits.size > 10_000) this.hits.clear();
      const fresh = { start: now, count: 1 };
      this.hits.set(key, fresh);
      return fresh;
    }
    entry.count++;
    return entry;
  }

  private refusal(start: number, now: number): RateLimitedError {
    return new RateLimitedError(Math.max(1, Math.ceil((start + this.windowMs - now) / 1000)));
  }
}

/** Answer every `rate_limited` refusal of `app` with a `Retry-After` header (seconds). */
export function answerRetryAfter(app: FastifyInstance): void {
  app.addHook('onError', async (_req, reply, err) => {
    if (err instanceof RateLimitedError) void reply.header('retry-after', String(err.retryAfterS));
  });
}

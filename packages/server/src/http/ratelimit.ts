import { FabricError } from '@fabric/protocol';
import type { Clock } from '../clock.js';

/**
 * Fixed-window limiter per key (an IP address): at most `limit` hits per
 * `windowMs`. Small and in-memory; it guards password guessing on one node.
 */
export class RateLimiter {
  private readonly hits = new Map<string, { start: number; count: number }>();

  constructor(private readonly clock: Clock, private readonly limit: number, private readonly windowMs: number) {}

  /**
   * Run `attempt` unless `key` is over its budget; only attempts that fail
   * with a FabricError of a code in `failures` spend budget, so people who
   * get it right are never locked out while guessing is.
   */
  async guard<T>(key: string, failures: readonly string[], attempt: () => Promise<T>): Promise<T> {
    this.check(key);
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof FabricError && failures.includes(err.code)) this.take(key);
      throw err;
    }
  }

  /** Throws `rate_limited` when `key` has already spent its budget in this window (spends nothing). */
  check(key: string): void {
    const entry = this.hits.get(key);
    const now = this.clock.now();
    if (entry && now - entry.start < this.windowMs && entry.count >= this.limit) {
      const wait = Math.ceil((entry.start + this.windowMs - now) / 1000);
      throw new FabricError('rate_limited', `too many attempts; try again in ${wait} s`);
    }
  }

  /** Spend one hit; throws `rate_limited` when `key` is over its budget. */
  take(key: string): void {
    const now = this.clock.now();
    const entry = this.hits.get(key);
    if (!entry || now - entry.start >= this.windowMs) {
      if (this.hits.size > 10_000) this.hits.clear();
      this.hits.set(key, { start: now, count: 1 });
      return;
    }
    entry.count++;
    if (entry.count > this.limit) {
      const wait = Math.ceil((entry.start + this.windowMs - now) / 1000);
      throw new FabricError('rate_limited', `too many attempts; try again in ${wait} s`);
    }
  }
}

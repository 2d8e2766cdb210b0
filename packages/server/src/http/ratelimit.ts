import { FabricError } from '@fabric/protocol';
import type { Clock } from '../clock.js';

/**
 * Fixed-window limiter per key (an IP address): at most `limit` hits per
 * `windowMs`. Small and in-memory; it guards password guessing on one node.
 */
export class RateLimiter {
  private readonly hits = new Map<string, { start: number; count: number }>();

  constructor(private readonly clock: Clock, private readonly limit: number, private readonly windowMs: number) {}

  /** Throws `rate_limited` when `key` is over its budget. */
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

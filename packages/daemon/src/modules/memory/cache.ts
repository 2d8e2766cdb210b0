/**
 * A least-recently-used cache whose entries also expire `ttlMs` after they
 * were stored. Recall keeps query embeddings in one: agents repeat queries,
 * and embedding is the one step of a recall a real model makes slow. The clock
 * is passed in so tests can move time.
 */
export class LruCache<V> {
  // A Map iterates in insertion order: re-inserting on every hit keeps the
  // least recently used entry first.
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(max >= 1)) throw new Error('cache size must be at least 1');
  }

  /** The value stored under `key`, or undefined when absent or expired (an expired entry is dropped). */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expires <= this.now()) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Store `value` under `key`, evicting the least recently used entry when full. */
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + this.ttlMs });
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}

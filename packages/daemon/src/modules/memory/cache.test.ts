import { describe, expect, it } from 'vitest';
import { LruCache } from './cache.js';

describe('LruCache', () => {
  it('evicts the least recently used entry when full', () => {
    const cache = new LruCache<number>(2, 1000, () => 0);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('forgets an entry once its time to live has passed, hits or not', () => {
    let t = 0;
    const cache = new LruCache<string>(10, 100, () => t);
    cache.set('q', 'v');
    t = 99;
    expect(cache.get('q')).toBe('v');
    t = 100;
    expect(cache.get('q')).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { backoffDelay, defaultBackoff } from './backoff.js';

const opts = { baseMs: 500, maxMs: 30_000 };
const lowest = () => 0;
const highest = () => 0.999999;

describe('backoffDelay', () => {
  it('doubles its ceiling with each attempt', () => {
    const ceilings = [0, 1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, opts, highest));
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 8000, 16_000]);
  });

  it('never waits longer than maxMs, however many attempts have failed', () => {
    expect(backoffDelay(6, opts, highest)).toBe(30_000);
    expect(backoffDelay(50, opts, highest)).toBe(30_000);
    expect(backoffDelay(10_000, opts, highest)).toBe(30_000);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, opts, highest)).toBe(30_000);
  });

  it('waits at least half the ceiling, so reconnects never spin', () => {
    const floors = [0, 1, 2, 3, 10].map((attempt) => backoffDelay(attempt, opts, lowest));
    expect(floors).toEqual([250, 500, 1000, 2000, 15_000]);
  });

  it('stays within [ceiling/2, ceiling] for any random draw', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** attempt);
      for (let i = 0; i < 200; i++) {
        const delay = backoffDelay(attempt, opts);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('is a pure function of the attempt and the random draw', () => {
    expect(backoffDelay(3, opts, () => 0.5)).toBe(3000);
    expect(backoffDelay(3, opts, () => 0.5)).toBe(3000);
    expect(backoffDelay(3, opts, () => 0.25)).toBe(2500);
  });

  it('spreads a fleet out: different draws give different delays', () => {
    const delays = new Set([0, 0.2, 0.4, 0.6, 0.8].map((r) => backoffDelay(8, opts, () => r)));
    expect(delays.size).toBe(5);
  });

  it('defaults to 500 ms growing to 30 s', () => {
    expect(defaultBackoff).toEqual({ baseMs: 500, maxMs: 30_000 });
    expect(backoffDelay(0, undefined, highest)).toBe(500);
    expect(backoffDelay(20, undefined, highest)).toBe(30_000);
  });

  it('returns whole milliseconds', () => {
    expect(Number.isInteger(backoffDelay(2, { baseMs: 333, maxMs: 10_000 }, () => 0.123))).toBe(true);
  });
});

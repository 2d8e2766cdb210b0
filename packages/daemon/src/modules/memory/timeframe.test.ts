import { describe, expect, it } from 'vitest';
import { FabricError } from '@fabric/protocol';
import { parseTimeframe } from './timeframe.js';

const now = Date.UTC(2025, 5, 15, 12, 0, 0);
const H = 3_600_000;

function refused(text: string): FabricError {
  try {
    parseTimeframe(text, now);
  } catch (err) {
    if (err instanceof FabricError) return err;
    throw err;
  }
  throw new Error(`expected "${text}" to be refused`);
}

describe('parseTimeframe', () => {
  it('reads durations back from now', () => {
    expect(parseTimeframe('24h', now)).toEqual({ from: now - 24 * H, to: null });
    expect(parseTimeframe('7d', now)).toEqual({ from: now - 7 * 24 * H, to: null });
    expect(parseTimeframe('2w', now)).toEqual({ from: now - 14 * 24 * H, to: null });
    expect(parseTimeframe('1y', now)).toEqual({ from: now - 365 * 24 * H, to: null });
  });

  it('reads ISO ranges, a date-only end covering its whole day, either end open', () => {
    expect(parseTimeframe('2025-01-01..2025-01-31', now)).toEqual({
      from: Date.UTC(2025, 0, 1),
      to: Date.UTC(2025, 1, 1) - 1,
    });
    expect(parseTimeframe('2025-01-01T08:00:00Z..2025-01-01T09:30:00.500+01:00', now)).toEqual({
      from: Date.UTC(2025, 0, 1, 8),
      to: Date.UTC(2025, 0, 1, 8, 30, 0, 500),
    });
    expect(parseTimeframe('2025-01-01..', now)).toEqual({ from: Date.UTC(2025, 0, 1), to: null });
    expect(parseTimeframe('..2025-01-01T00:00Z', now)).toEqual({ from: null, to: Date.UTC(2025, 0, 1) });
  });

  it('refuses anything else with bad_request instead of guessing', () => {
    for (const text of [
      '',
      '7',
      'd7',
      '0d',
      '7 d',
      '7D',
      '1.5d',
      '3m',
      'yesterday',
      '..',
      '2025-01-01',
      '2025-1-1..2025-02-01',
      '2025-02-30..',
      '2025-01-01T25:00Z..',
      '2025-01-01T10:00..',
      '2025-01-01..2025-02-01..2025-03-01',
      '-7d',
    ]) {
      expect(refused(text).code).toBe('bad_request');
    }
    expect(refused('2025-02-01..2025-01-01').message).toMatch(/earlier time first/);
  });
});

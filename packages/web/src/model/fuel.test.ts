import { describe, expect, it } from 'vitest';
import { shortCount, sparklinePath, streak } from './fuel.js';
import { modeFor } from '../mode.js';
import { parseLabels } from '../screens/labels.js';

describe('fuel formatting', () => {
  it("shortens counts for arm's-length reading", () => {
    expect([0, 950, 999, 1234, 12_345, 999_949, 2_500_000, 3e9].map(shortCount)).toEqual([
      '0',
      '950',
      '999',
      '1.2k',
      '12.3k',
      '1M',
      '2.5M',
      '3G',
    ]);
  });
  it('formats streaks', () => {
    expect([0, 59_999, 75 * 60_000, 26 * 3_600_000].map(streak)).toEqual(['0m', '0m', '1h 15m', '1d 2h']);
  });
  it('draws a sparkline scaled to its largest point, flat when all are zero', () => {
    expect(sparklinePath([0, 5, 10], 100, 20)).toBe('M0.0,19.0 L50.0,10.0 L100.0,1.0');
    expect(sparklinePath([0, 0], 100, 20)).toBe('M0.0,19.0 L100.0,19.0');
    expect(sparklinePath([], 100, 20)).toBe('');
  });
});

describe('deployment mode by hostname', () => {
  it('is fabric for fabric.* hosts and the explicit list, local elsewhere, and obeys an override', () => {
    expect(modeFor('fabric.example.com', null)).toBe('fabric');
    expect(modeFor('localhost', null)).toBe('fabric');
    expect(modeFor('pi.local', null)).toBe('local');
    expect(modeFor('192.168.1.20', null)).toBe('local');
    expect(modeFor('fabric.example.com', 'local')).toBe('local');
    expect(modeFor('pi.local', 'fabric')).toBe('fabric');
    expect(modeFor('pi.local', 'bogus')).toBe('local');
  });
});

describe('labels typed in the start form', () => {
  it('parses k=v lists and refuses anything else', () => {
    expect(parseLabels('gpu=yes, room = lab')).toEqual({ gpu: 'yes', room: 'lab' });
    expect(parseLabels('')).toEqual({});
    expect(parseLabels('gpu')).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { durationFlag } from './shared.js';

describe('durationFlag', () => {
  const parse = durationFlag('--lost-timeout');

  it('reads seconds, minutes and hours as milliseconds', () => {
    expect(parse('90s')).toBe(90_000);
    expect(parse('10m')).toBe(600_000);
    expect(parse('2h')).toBe(7_200_000);
    expect(parse(' 1s ')).toBe(1000);
    expect(parse('168h')).toBe(168 * 3_600_000);
  });

  it('refuses what is not a bounded whole duration, naming the flag and the value', () => {
    for (const bad of ['10', '0s', '1.5m', '-1m', '169h', '10d', 'm', '', '10 m', '99999999s', '1e3s']) {
      expect(() => parse(bad), bad).toThrow(
        `--lost-timeout wants a duration such as 90s, 10m or 2h (1s to 168h), got "${bad}"`,
      );
    }
  });
});

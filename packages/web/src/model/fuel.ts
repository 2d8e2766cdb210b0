import type { FuelReport } from '@fabric/protocol';

/** The fuel meter as GET /api/fuel returns it (rules in packages/server/src/fuel/compute.ts). */
export type FuelView = FuelReport;

/** 950 → "950", 1234 → "1.2k", 2_500_000 → "2.5M": readable at arm's length. */
export function shortCount(n: number): string {
  const units = ['', 'k', 'M', 'G'];
  let x = n;
  let u = 0;
  while (Math.abs(x) >= 1000 && u < units.length - 1) {
    x /= 1000;
    u++;
  }
  let text = u === 0 || Math.abs(x) >= 100 ? String(Math.round(x)) : x.toFixed(1).replace(/\.0$/, '');
  // 999.95k rounds to 1000k: say 1M instead.
  if (Math.abs(Number(text)) >= 1000 && u < units.length - 1) {
    text = String(Math.sign(x));
    u++;
  }
  return `${text}${units[u]}`;
}

/** 0 → "0m", 75 min → "1h 15m", 26 h → "1d 2h". */
export function streak(ms: number): string {
  const m = Math.floor(ms / 60_000);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/**
 * An SVG path for a sparkline in a `width` × `height` box: one point per
 * value, oldest at the left, scaled to the largest value (a flat line at the
 * bottom when everything is zero).
 */
export function sparklinePath(values: readonly number[], width: number, height: number): string {
  if (values.length === 0) return '';
  const max = Math.max(...values, 0);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((v, i) => {
      const x = values.length > 1 ? i * step : width / 2;
      const y = max === 0 ? height - 1 : height - 1 - (v / max) * (height - 2);
      return `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

import { FabricError } from '@fabric/protocol';

/** A window of time in ms since the epoch, both ends inclusive; null is open. */
export interface Timeframe {
  from: number | null;
  to: number | null;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const UNIT_MS: Record<string, number> = { h: HOUR, d: DAY, w: 7 * DAY, y: 365 * DAY };
const DURATION_RE = /^([1-9][0-9]{0,5})([hdwy])$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,3})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
const USAGE =
  'timeframe is a duration like 24h, 7d, 2w, 1y, or a range like 2025-01-01..2025-01-31 or 2025-01-01T00:00:00Z..';

/**
 * Parse a recall timeframe: a duration back from `now` (`24h`, `7d`, `2w`,
 * `1y`; a year is 365 days) or `FROM..TO` with ISO dates (`2025-01-31`, UTC)
 * or ISO times with a zone (`2025-01-31T08:00:00Z`, `…+02:00`); one end may
 * be left open. A date-only TO includes that whole day. Throws
 * FabricError('bad_request') for anything else: no guessing at what a
 * malformed window meant.
 */
export function parseTimeframe(text: string, now: number): Timeframe {
  const t = text.trim();
  const duration = DURATION_RE.exec(t);
  if (duration) return { from: now - Number(duration[1]) * UNIT_MS[duration[2]!]!, to: null };
  const parts = t.split('..');
  if (parts.length !== 2) throw new FabricError('bad_request', USAGE);
  const [a, b] = parts as [string, string];
  if (a === '' && b === '') throw new FabricError('bad_request', USAGE);
  const from = a === '' ? null : instant(a, 'start');
  const to = b === '' ? null : instant(b, 'end');
  if (from !== null && to !== null && from > to)
    throw new FabricError('bad_request', 'timeframe starts after it ends: put the earlier time first');
  return { from, to };
}

/** ms of an ISO date (its first or last ms, UTC) or time; throws bad_request. */
function instant(text: string, end: 'start' | 'end'): number {
  const date = DATE_RE.exec(text);
  if (date) {
    const start = realDay(date);
    return end === 'start' ? start : start + DAY - 1;
  }
  const time = DATETIME_RE.exec(text);
  if (!time) throw new FabricError('bad_request', USAGE);
  realDay(time);
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new FabricError('bad_request', USAGE);
  return ms;
}

/** Midnight UTC of the matched year, month, day; throws when the day does not exist (2025-02-30). */
function realDay(m: RegExpExecArray): number {
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
    throw new FabricError('bad_request', `timeframe: ${m[0].slice(0, 10)} is not a real date`);
  }
  return ms;
}

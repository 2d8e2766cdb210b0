import type { FuelFigures, FuelReport as WireFuelReport } from '@fabric/protocol';

/**
 * The fuel meter: tokens, not dollars, computed from persisted usage reports
 * and session lifetimes. Pure: the caller passes the rows and the clock.
 *
 * Definitions:
 * - a report's **tokens** are `input + output`; cache reads (`cached`) are
 *   shown apart, since they cost a fraction and would swamp the figure;
 * - **THROUGHPUT** is tokens per minute averaged over the last 5 minutes, and
 *   a sparkline of tokens in each of the last 60 whole minutes (oldest first,
 *   the last point is the minute in progress);
 * - **MISSION** is the current uninterrupted streak of agent activity. Each
 *   session is active from its start to its end (or now, if running) and
 *   each usage report is an instant of activity; activity separated by less
 *   than the idle gap (10 minutes) is one streak. The streak is current while
 *   something runs or the last activity was less than an idle gap ago; its
 *   length is measured from its first activity to now. Otherwise it is 0;
 * - **YIELD** counts since the start of the day (the caller's midnight):
 *   sessions that ended `succeeded`, tokens, and tokens per succeeded session.
 */

export interface UsagePoint {
  ts: number;
  deviceId: string | null;
  harness: string;
  input: number;
  output: number;
  cached: number;
}

export interface SessionSpan {
  deviceId: string | null;
  harness: string;
  status: string;
  startedAt: number | null;
  endedAt: number | null;
}

/** The computed report, before device names are attached (see protocol's FuelReport). */
export type FuelReport = Omit<WireFuelReport, 'devices'>;
export type { FuelFigures };

export const MINUTE = 60_000;
export const WINDOW_MINUTES = 5;
export const SPARKLINE_POINTS = 60;
export const IDLE_GAP_MS = 10 * MINUTE;

const tokensOf = (u: UsagePoint) => u.input + u.output;

/** Throughput and yield over one slice of the data (everything, one device, one harness). */
export function figures(
  usage: readonly UsagePoint[],
  sessions: readonly SessionSpan[],
  now: number,
  dayStart: number,
): FuelFigures {
  const windowStart = now - WINDOW_MINUTES * MINUTE;
  const currentMinute = Math.floor(now / MINUTE);
  const sparkline = new Array<number>(SPARKLINE_POINTS).fill(0);
  let windowTokens = 0;
  let tokens = 0;
  let cached = 0;
  for (const u of usage) {
    if (u.ts > now) continue;
    if (u.ts > windowStart) windowTokens += tokensOf(u);
    const ago = currentMinute - Math.floor(u.ts / MINUTE);
    if (ago >= 0 && ago < SPARKLINE_POINTS) sparkline[SPARKLINE_POINTS - 1 - ago]! += tokensOf(u);
    if (u.ts >= dayStart) {
      tokens += tokensOf(u);
      cached += u.cached;
    }
  }
  const sessionsSucceeded = sessions.filter(
    (s) => s.status === 'succeeded' && s.endedAt !== null && s.endedAt >= dayStart && s.endedAt <= now,
  ).length;
  return {
    throughput: { tokensPerMinute: round(windowTokens / WINDOW_MINUTES), windowMinutes: WINDOW_MINUTES, sparkline },
    yield: {
      sessionsSucceeded,
      tokens,
      cached,
      tokensPerSession: sessionsSucceeded > 0 ? round(tokens / sessionsSucceeded) : null,
    },
  };
}

/** The current streak (see the module comment for the rule). */
export function mission(
  usage: readonly UsagePoint[],
  sessions: readonly SessionSpan[],
  now: number,
  idleGapMs = IDLE_GAP_MS,
): FuelReport['mission'] {
  const spans: [number, number][] = [];
  let active = false;
  for (const s of sessions) {
    if (s.startedAt === null || s.startedAt > now) continue;
    // Only a session that is running now counts as active; a lost one is not known to be working.
    const running = s.endedAt === null && s.status === 'running';
    if (running) active = true;
    const end = s.endedAt ?? (running ? now : s.startedAt);
    spans.push([s.startedAt, Math.min(end, now)]);
  }
  for (const u of usage) if (u.ts <= now) spans.push([u.ts, u.ts]);
  if (spans.length === 0) return { active: false, streakMs: 0, since: null, lastActivity: null, idleGapMs };
  spans.sort((a, b) => a[0] - b[0]);
  // Merge into streaks, newest last.
  let [start, end] = spans[0]!;
  for (const [s, e] of spans.slice(1)) {
    if (s - end < idleGapMs) end = Math.max(end, e);
    else {
      start = s;
      end = e;
    }
  }
  const current = active || now - end < idleGapMs;
  return { active, streakMs: current ? now - start : 0, since: current ? start : null, lastActivity: end, idleGapMs };
}

/** The whole report, with breakdowns per device and per harness (busiest first). */
export function fuelReport(
  usage: readonly UsagePoint[],
  sessions: readonly SessionSpan[],
  now: number,
  dayStart: number,
): FuelReport {
  const breakdown = (keyOf: (x: { deviceId: string | null; harness: string }) => string) => {
    const keys = new Set([...usage.map(keyOf), ...sessions.map(keyOf)]);
    return [...keys]
      .map((key) => ({
        key,
        ...figures(
          usage.filter((u) => keyOf(u) === key),
          sessions.filter((s) => keyOf(s) === key),
          now,
          dayStart,
        ),
      }))
      .sort(
        (a, b) =>
          b.yield.tokens - a.yield.tokens ||
          b.throughput.tokensPerMinute - a.throughput.tokensPerMinute ||
          (a.key < b.key ? -1 : 1),
      );
  };
  return {
    generatedAt: now,
    dayStart,
    ...figures(usage, sessions, now, dayStart),
    mission: mission(usage, sessions, now),
    byDevice: breakdown((x) => x.deviceId ?? 'unplaced'),
    byHarness: breakdown((x) => x.harness),
  };
}

/** Local midnight for a client `tzOffsetMinutes` as `Date#getTimezoneOffset()` gives it (UTC - local). */
export function dayStartFor(now: number, tzOffsetMinutes: number): number {
  const local = now - tzOffsetMinutes * MINUTE;
  const midnightLocal = Math.floor(local / (24 * 60 * MINUTE)) * 24 * 60 * MINUTE;
  return midnightLocal + tzOffsetMinutes * MINUTE;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

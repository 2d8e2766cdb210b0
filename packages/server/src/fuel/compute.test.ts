import { describe, expect, it } from 'vitest';
import {
  dayStartFor,
  figures,
  fuelReport,
  IDLE_GAP_MS,
  MINUTE,
  mission,
  SPARKLINE_POINTS,
  WINDOW_MINUTES,
  type SessionSpan,
  type UsagePoint,
} from './compute.js';

/** The fake clock: every test reads the same fixed instants. */
const dayStart = Date.UTC(2024, 0, 15); // midnight UTC, Monday 15 January 2024
const now = dayStart + 14 * 60 * MINUTE + 30_000; // 14:00:30, half a minute into the current minute
const min = (n: number) => n * MINUTE;
const ago = (ms: number) => now - ms;

function usage(ts: number, input: number, output = 0, over: Partial<UsagePoint> = {}): UsagePoint {
  return { ts, deviceId: 'dev_a', harness: 'claude', input, output, cached: 0, ...over };
}

function session(over: Partial<SessionSpan> = {}): SessionSpan {
  return {
    deviceId: 'dev_a',
    harness: 'claude',
    status: 'succeeded',
    startedAt: ago(min(20)),
    endedAt: ago(min(10)),
    ...over,
  };
}

const running = (startedAt: number, over: Partial<SessionSpan> = {}) =>
  session({ status: 'running', startedAt, endedAt: null, ...over });

describe('figures', () => {
  describe('tokens', () => {
    it('counts input plus output, and keeps cache reads apart', () => {
      const f = figures([usage(ago(min(1)), 100, 50, { cached: 10_000 })], [], now, dayStart);
      expect(f.yield.tokens).toBe(150);
      expect(f.yield.cached).toBe(10_000);
      expect(f.throughput.tokensPerMinute).toBe(30);
      expect(f.throughput.sparkline[SPARKLINE_POINTS - 1]).toBe(0);
      expect(f.throughput.sparkline[SPARKLINE_POINTS - 2]).toBe(150);
    });

    it('reports nothing for no usage', () => {
      expect(figures([], [], now, dayStart)).toEqual({
        throughput: {
          tokensPerMinute: 0,
          windowMinutes: WINDOW_MINUTES,
          sparkline: new Array(SPARKLINE_POINTS).fill(0),
        },
        yield: { sessionsSucceeded: 0, tokens: 0, cached: 0, tokensPerSession: null },
      });
    });
  });

  describe('THROUGHPUT over the last 5 minutes', () => {
    it('averages the tokens of the window per minute', () => {
      const f = figures(
        [usage(ago(min(4)), 300, 200), usage(ago(min(1)), 400, 100), usage(now, 0, 1)],
        [],
        now,
        dayStart,
      );
      expect(f.throughput).toMatchObject({ tokensPerMinute: 200.2, windowMinutes: 5 });
    });

    it('leaves out an event exactly 5 minutes old and counts one just inside', () => {
      expect(figures([usage(ago(min(5)), 1000)], [], now, dayStart).throughput.tokensPerMinute).toBe(0);
      expect(figures([usage(ago(min(5)) + 1, 1000)], [], now, dayStart).throughput.tokensPerMinute).toBe(200);
    });

    it('rounds to one decimal', () => {
      expect(figures([usage(ago(min(2)), 333)], [], now, dayStart).throughput.tokensPerMinute).toBe(66.6);
      expect(figures([usage(ago(min(2)), 7)], [], now, dayStart).throughput.tokensPerMinute).toBe(1.4);
    });

    it('ignores events from the future', () => {
      expect(figures([usage(now + 1, 1000)], [], now, dayStart).throughput.tokensPerMinute).toBe(0);
    });
  });

  describe('the 60-point sparkline', () => {
    it('has one point per minute, oldest first, ending with the minute in progress', () => {
      const minuteStart = ago(30_000);
      const f = figures(
        [
          usage(now, 1),
          usage(minuteStart, 2), // still the current minute
          usage(minuteStart - 1, 4), // the minute before
          usage(ago(min(10)), 8),
          usage(ago(min(59)), 16), // the oldest point
        ],
        [],
        now,
        dayStart,
      );
      const line = f.throughput.sparkline;
      expect(line).toHaveLength(60);
      expect(line[59]).toBe(3);
      expect(line[58]).toBe(4);
      expect(line[49]).toBe(8);
      expect(line[0]).toBe(16);
      expect(line.reduce((s, n) => s + n, 0)).toBe(31);
    });

    it('adds up every event that falls in the same minute', () => {
      const line = figures([usage(ago(min(3)), 10, 5), usage(ago(min(3)) + 20_000, 1, 1)], [], now, dayStart).throughput
        .sparkline;
      expect(line[56]).toBe(17);
    });

    it('ignores events older than 60 minutes', () => {
      const line = figures([usage(ago(min(60)), 1000), usage(ago(min(90)), 1000)], [], now, dayStart).throughput
        .sparkline;
      expect(line).toEqual(new Array(SPARKLINE_POINTS).fill(0));
    });

    it('ignores events from the future, even in the current minute', () => {
      const line = figures([usage(now + 1, 1000), usage(now + min(5), 1000)], [], now, dayStart).throughput.sparkline;
      expect(line).toEqual(new Array(SPARKLINE_POINTS).fill(0));
    });

    it('shows minutes from before midnight that YIELD leaves out', () => {
      const justAfterMidnight = dayStart + min(2);
      const f = figures([usage(dayStart - min(1), 500)], [], justAfterMidnight, dayStart);
      expect(f.throughput.sparkline[56]).toBe(500);
      expect(f.throughput.tokensPerMinute).toBe(100);
      expect(f.yield.tokens).toBe(0);
    });
  });

  describe('YIELD since the start of the day', () => {
    it('counts tokens and cache reads from dayStart on, dayStart itself included', () => {
      const f = figures(
        [
          usage(dayStart - 1, 1000, 0, { cached: 1000 }),
          usage(dayStart, 10, 0, { cached: 1 }),
          usage(ago(min(300)), 20, 5, { cached: 2 }),
          usage(now + 1, 1000, 0, { cached: 1000 }),
        ],
        [],
        now,
        dayStart,
      );
      expect(f.yield).toMatchObject({ tokens: 35, cached: 3 });
    });

    it('counts only sessions that succeeded and ended today, by now', () => {
      const sessions = [
        session({ endedAt: dayStart }),
        session({ endedAt: ago(min(1)) }),
        session({ endedAt: now }),
        session({ endedAt: dayStart - 1 }),
        session({ endedAt: now + 1 }),
        session({ status: 'failed' }),
        session({ status: 'cancelled' }),
        running(ago(min(5))),
        session({ status: 'lost', endedAt: null }),
      ];
      expect(figures([], sessions, now, dayStart).yield.sessionsSucceeded).toBe(3);
    });

    it('divides tokens by succeeded sessions, to one decimal', () => {
      const sessions = [session(), session(), session(), session({ status: 'failed' })];
      const f = figures([usage(ago(min(30)), 600, 400)], sessions, now, dayStart);
      expect(f.yield).toEqual({ sessionsSucceeded: 3, tokens: 1000, cached: 0, tokensPerSession: 333.3 });
    });

    it('has no tokens per session when no session succeeded, however many tokens there were', () => {
      const f = figures([usage(ago(min(30)), 600, 400)], [session({ status: 'failed' })], now, dayStart);
      expect(f.yield.tokensPerSession).toBeNull();
    });

    it('gives 0 tokens per session when sessions succeeded but reported nothing', () => {
      expect(figures([], [session()], now, dayStart).yield.tokensPerSession).toBe(0);
    });
  });
});

describe('mission', () => {
  it('is idle with no activity at all', () => {
    expect(mission([], [], now)).toEqual({
      active: false,
      streakMs: 0,
      since: null,
      lastActivity: null,
      idleGapMs: IDLE_GAP_MS,
    });
  });

  it('uses a 10-minute idle gap', () => {
    expect(IDLE_GAP_MS).toBe(min(10));
  });

  it('is active while a session runs, and the streak runs from its start to now', () => {
    expect(mission([], [running(ago(min(30)))], now)).toEqual({
      active: true,
      streakMs: min(30),
      since: ago(min(30)),
      lastActivity: now,
      idleGapMs: IDLE_GAP_MS,
    });
  });

  it('stays active while a session runs, however long ago the rest stopped', () => {
    const m = mission([], [session({ startedAt: ago(min(200)), endedAt: ago(min(180)) }), running(ago(min(2)))], now);
    expect(m).toMatchObject({ active: true, streakMs: min(2), since: ago(min(2)) });
  });

  it('keeps a streak current for less than an idle gap after the last session ends', () => {
    const m = mission([], [session({ startedAt: ago(min(20)), endedAt: ago(min(10)) + 1 })], now);
    expect(m).toEqual({
      active: false,
      streakMs: min(20),
      since: ago(min(20)),
      lastActivity: ago(min(10)) + 1,
      idleGapMs: IDLE_GAP_MS,
    });
  });

  it('ends the streak once the last activity is an idle gap ago or more, but still reports when that was', () => {
    for (const endedAt of [ago(min(10)), ago(min(11)), ago(min(600))]) {
      expect(mission([], [session({ startedAt: endedAt - min(5), endedAt })], now)).toEqual({
        active: false,
        streakMs: 0,
        since: null,
        lastActivity: endedAt,
        idleGapMs: IDLE_GAP_MS,
      });
    }
  });

  it('merges sessions separated by less than the idle gap into one streak from the earliest start', () => {
    const first = session({ startedAt: ago(min(60)), endedAt: ago(min(40)) });
    const second = running(ago(min(30)) - 1);
    expect(mission([], [second, first], now)).toMatchObject({ active: true, since: ago(min(60)), streakMs: min(60) });
  });

  it('starts a new streak after a gap of exactly the idle gap', () => {
    const first = session({ startedAt: ago(min(60)), endedAt: ago(min(40)) });
    expect(mission([], [first, running(ago(min(30)))], now)).toMatchObject({ since: ago(min(30)), streakMs: min(30) });
  });

  it('starts a new streak after a larger gap', () => {
    const first = session({ startedAt: ago(min(120)), endedAt: ago(min(60)) });
    expect(mission([], [first, running(ago(min(5)))], now)).toMatchObject({ since: ago(min(5)), streakMs: min(5) });
  });

  it('merges a session that overlaps a longer one without cutting the streak short', () => {
    const long = session({ startedAt: ago(min(50)), endedAt: ago(min(5)) });
    const inside = session({ startedAt: ago(min(40)), endedAt: ago(min(35)) });
    expect(mission([], [long, inside], now)).toMatchObject({
      active: false,
      since: ago(min(50)),
      streakMs: min(50),
      lastActivity: ago(min(5)),
    });
  });

  it('does not count a lost session as running', () => {
    const lost = session({ status: 'lost', startedAt: ago(min(30)), endedAt: null });
    expect(mission([], [lost], now)).toEqual({
      active: false,
      streakMs: 0,
      since: null,
      lastActivity: ago(min(30)),
      idleGapMs: IDLE_GAP_MS,
    });
  });

  it('counts a lost session as an instant of activity at its start', () => {
    const lost = session({ status: 'lost', startedAt: ago(min(3)), endedAt: null });
    expect(mission([], [lost], now)).toMatchObject({
      active: false,
      since: ago(min(3)),
      streakMs: min(3),
      lastActivity: ago(min(3)),
    });
  });

  it('counts each usage report as an instant of activity', () => {
    const reports = [usage(ago(min(25)), 1), usage(ago(min(16)), 1), usage(ago(min(7)), 1)];
    expect(mission(reports, [], now)).toEqual({
      active: false,
      streakMs: min(25),
      since: ago(min(25)),
      lastActivity: ago(min(7)),
      idleGapMs: IDLE_GAP_MS,
    });
  });

  it('lets usage reports bridge two sessions that are too far apart on their own', () => {
    const first = session({ startedAt: ago(min(60)), endedAt: ago(min(40)) });
    const second = running(ago(min(24)));
    expect(mission([], [first, second], now).since).toBe(ago(min(24)));
    expect(mission([usage(ago(min(32)), 1)], [first, second], now).since).toBe(ago(min(60)));
  });

  it('ignores sessions that never started and activity from the future', () => {
    const m = mission(
      [usage(now + 1, 1)],
      [session({ startedAt: null, endedAt: null, status: 'queued' }), running(now + min(1))],
      now,
    );
    expect(m).toEqual({ active: false, streakMs: 0, since: null, lastActivity: null, idleGapMs: IDLE_GAP_MS });
  });

  it('takes the idle gap as an argument', () => {
    const done = session({ startedAt: ago(min(20)), endedAt: ago(min(15)) });
    expect(mission([], [done], now).streakMs).toBe(0);
    expect(mission([], [done], now, min(30))).toMatchObject({ streakMs: min(20), idleGapMs: min(30) });
  });
});

describe('dayStartFor', () => {
  const H = 60 * MINUTE;

  it('gives UTC midnight for offset 0', () => {
    expect(dayStartFor(Date.UTC(2024, 0, 15, 15, 45), 0)).toBe(Date.UTC(2024, 0, 15));
  });

  it('gives New York midnight (offset +300) for an evening there that is already tomorrow in UTC', () => {
    // 2024-01-16 03:00 UTC is 22:00 on the 15th in New York.
    expect(dayStartFor(Date.UTC(2024, 0, 16, 3), 300)).toBe(Date.UTC(2024, 0, 15, 5));
  });

  it('gives Tokyo midnight (offset -540) for a morning there that is still yesterday in UTC', () => {
    // 2024-01-15 20:00 UTC is 05:00 on the 16th in Tokyo.
    expect(dayStartFor(Date.UTC(2024, 0, 15, 20), -540)).toBe(Date.UTC(2024, 0, 15, 15));
  });

  it('gives now itself at the stroke of local midnight', () => {
    expect(dayStartFor(Date.UTC(2024, 0, 15, 5), 300)).toBe(Date.UTC(2024, 0, 15, 5));
    expect(dayStartFor(Date.UTC(2024, 0, 15, 5) - 1, 300)).toBe(Date.UTC(2024, 0, 14, 5));
  });

  it.each([0, 300, -540, -330, 480])('is always a local midnight in the 24 hours up to now (offset %i)', (offset) => {
    for (let t = Date.UTC(2024, 0, 15); t < Date.UTC(2024, 0, 17); t += 37 * MINUTE) {
      const start = dayStartFor(t, offset);
      expect(start).toBeLessThanOrEqual(t);
      expect(t - start).toBeLessThan(24 * H);
      expect((start - offset * MINUTE) % (24 * H)).toBe(0);
    }
  });
});

describe('fuelReport', () => {
  const rows: UsagePoint[] = [
    usage(ago(min(2)), 100, 0, { deviceId: 'dev_a', harness: 'claude' }),
    usage(ago(min(3)), 500, 0, { deviceId: 'dev_b', harness: 'codex' }),
    usage(ago(min(4)), 50, 0, { deviceId: 'dev_b', harness: 'claude' }),
    usage(ago(min(5)) + 1, 7, 0, { deviceId: null, harness: 'shell' }),
  ];
  const spans: SessionSpan[] = [
    session({ deviceId: 'dev_a', harness: 'claude' }),
    session({ deviceId: 'dev_c', harness: 'kimi', status: 'failed' }),
    running(ago(min(1)), { deviceId: 'dev_b', harness: 'codex' }),
  ];
  const report = fuelReport(rows, spans, now, dayStart);

  it('stamps the clock and the day start it was given', () => {
    expect(report.generatedAt).toBe(now);
    expect(report.dayStart).toBe(dayStart);
  });

  it('puts the figures for everything at the top', () => {
    expect(report.throughput).toEqual(figures(rows, spans, now, dayStart).throughput);
    expect(report.yield).toEqual({ sessionsSucceeded: 1, tokens: 657, cached: 0, tokensPerSession: 657 });
  });

  it('includes the mission over all sessions and usage', () => {
    expect(report.mission).toEqual(mission(rows, spans, now));
    expect(report.mission.active).toBe(true);
  });

  it("breaks down by device, busiest first, with 'unplaced' for usage without a device", () => {
    expect(report.byDevice.map((d) => [d.key, d.yield.tokens])).toEqual([
      ['dev_b', 550],
      ['dev_a', 100],
      ['unplaced', 7],
      ['dev_c', 0],
    ]);
  });

  it('gives each device the figures of its own rows only', () => {
    const a = report.byDevice.find((d) => d.key === 'dev_a')!;
    expect(a).toEqual({ key: 'dev_a', ...figures([rows[0]!], [spans[0]!], now, dayStart) });
    expect(a.yield).toEqual({ sessionsSucceeded: 1, tokens: 100, cached: 0, tokensPerSession: 100 });
  });

  it('lists a device that only has sessions, with zero tokens', () => {
    expect(report.byDevice.find((d) => d.key === 'dev_c')!.yield).toEqual({
      sessionsSucceeded: 0,
      tokens: 0,
      cached: 0,
      tokensPerSession: null,
    });
  });

  it('breaks down by harness, busiest first', () => {
    expect(report.byHarness.map((h) => [h.key, h.yield.tokens])).toEqual([
      ['codex', 500],
      ['claude', 150],
      ['shell', 7],
      ['kimi', 0],
    ]);
  });

  it("calls a session without a device 'unplaced' too", () => {
    const r = fuelReport([], [session({ deviceId: null })], now, dayStart);
    expect(r.byDevice.map((d) => [d.key, d.yield.sessionsSucceeded])).toEqual([['unplaced', 1]]);
  });

  it('orders equal tokens today by throughput, then by key', () => {
    const r = fuelReport(
      [
        usage(ago(min(30)), 100, 0, { deviceId: 'dev_z' }), // outside the 5-minute window
        usage(ago(min(1)), 100, 0, { deviceId: 'dev_y' }), // inside it
        usage(ago(min(30)), 100, 0, { deviceId: 'dev_x' }),
      ],
      [],
      now,
      dayStart,
    );
    expect(r.byDevice.map((d) => d.key)).toEqual(['dev_y', 'dev_x', 'dev_z']);
  });

  it('reports empty breakdowns with no data', () => {
    const r = fuelReport([], [], now, dayStart);
    expect(r.byDevice).toEqual([]);
    expect(r.byHarness).toEqual([]);
    expect(r.mission.active).toBe(false);
  });
});

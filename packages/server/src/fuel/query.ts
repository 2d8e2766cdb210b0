import type { Db } from '../store/db.js';
import { dayStartFor, fuelReport, MINUTE, SPARKLINE_POINTS, type FuelReport } from './compute.js';

/** A streak longer than this is reported from its first week only (a bound on what is read). */
const MISSION_LOOKBACK_MS = 7 * 24 * 60 * MINUTE;

/** Read the rows the fuel meter needs and compute it for a client in `tzOffsetMinutes`. */
export async function readFuel(db: Db, now: number, tzOffsetMinutes: number): Promise<FuelReport & { devices: Record<string, string> }> {
  const dayStart = dayStartFor(now, tzOffsetMinutes);
  const since = Math.min(dayStart, now - SPARKLINE_POINTS * MINUTE);
  const lookback = now - MISSION_LOOKBACK_MS;
  const usage = await db.selectFrom('usage').select(['ts', 'device_id', 'harness', 'input', 'output', 'cached'])
    .where('ts', '>=', Math.min(since, lookback)).execute();
  const sessions = await db.selectFrom('sessions').select(['device_id', 'harness', 'status', 'started_at', 'ended_at'])
    .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>=', lookback)]))
    .where('started_at', 'is not', null)
    .execute();
  const devices = await db.selectFrom('devices').select(['id', 'name']).execute();
  const report = fuelReport(
    usage.map((u) => ({ ts: Number(u.ts), deviceId: u.device_id, harness: u.harness, input: Number(u.input), output: Number(u.output), cached: Number(u.cached) })),
    sessions.map((s) => ({
      deviceId: s.device_id, harness: s.harness, status: s.status,
      startedAt: s.started_at === null ? null : Number(s.started_at),
      endedAt: s.ended_at === null ? null : Number(s.ended_at),
    })),
    now,
    dayStart,
  );
  return { ...report, devices: Object.fromEntries(devices.map((d) => [d.id, d.name])) };
}

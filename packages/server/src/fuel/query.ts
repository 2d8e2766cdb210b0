import type { Db } from '../store/db.js';
import { dayStartFor, fuelReport, MINUTE, SPARKLINE_POINTS, type FuelReport } from './compute.js';

/** A streak longer than this is reported from its first week only (a bound on what is read). */
const MISSION_LOOKBACK_MS = 7 * 24 * 60 * MINUTE;

/**
 * Read the rows the fuel meter needs and compute it for a client in
 * `tzOffsetMinutes`: over every session, or only those `createdBy` started
 * (a member's meter), and then naming only the devices those ran on.
 */
export async function readFuel(
  db: Db,
  now: number,
  tzOffsetMinutes: number,
  createdBy: string | null = null,
): Promise<FuelReport & { devices: Record<string, string> }> {
  const dayStart = dayStartFor(now, tzOffsetMinutes);
  const since = Math.min(dayStart, now - SPARKLINE_POINTS * MINUTE);
  const lookback = now - MISSION_LOOKBACK_MS;
  let usageQuery = db
    .selectFrom('usage')
    .select(['usage.ts', 'usage.device_id', 'usage.harness', 'usage.input', 'usage.output', 'usage.cached'])
    .where('usage.ts', '>=', Math.min(since, lookback));
  if (createdBy !== null) {
    usageQuery = usageQuery
      .innerJoin('sessions', 'sessions.id', 'usage.session_id')
      .where('sessions.created_by', '=', createdBy);
  }
  const usage = await usageQuery.execute();
  let sessionQuery = db
    .selectFrom('sessions')
    .select(['device_id', 'harness', 'status', 'started_at', 'ended_at'])
    .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>=', lookback)]))
    .where('started_at', 'is not', null);
  if (createdBy !== null) sessionQuery = sessionQuery.where('created_by', '=', createdBy);
  const sessions = await sessionQuery.execute();
  const seen = new Set([...usage.map((u) => u.device_id), ...sessions.map((x) => x.device_id)]);
  const devices = (await db.selectFrom('devices').select(['id', 'name']).execute()).filter(
    (d) => createdBy === null || seen.has(d.id),
  );
  const report = fuelReport(
    usage.map((u) => ({
      ts: Number(u.ts),
      deviceId: u.device_id,
      harness: u.harness,
      input: Number(u.input),
      output: Number(u.output),
      cached: Number(u.cached),
    })),
    sessions.map((s) => ({
      deviceId: s.device_id,
      harness: s.harness,
      status: s.status,
      startedAt: s.started_at === null ? null : Number(s.started_at),
      endedAt: s.ended_at === null ? null : Number(s.ended_at),
    })),
    now,
    dayStart,
  );
  return { ...report, devices: Object.fromEntries(devices.map((d) => [d.id, d.name])) };
}

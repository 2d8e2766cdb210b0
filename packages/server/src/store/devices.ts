import { capabilityDigestSchema, type CapabilityDigest, type DeviceView } from '@fabric/protocol';
import type { Db } from './db.js';
import type { DevicesTable } from './schema.js';
import type { DeviceState } from '../router/place.js';

import type { Selectable } from 'kysely';

export type DeviceRow = Selectable<DevicesTable>;

/** Stored capabilities are re-validated on read: a bad row shows as unknown, never crashes a listing. */
export function readCapabilities(raw: string | null): CapabilityDigest | null {
  if (!raw) return null;
  try {
    const parsed = capabilityDigestSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function deviceView(row: DeviceRow, runningSessions: number): DeviceView {
  return {
    id: row.id,
    name: row.name,
    online: row.online === 1 && row.revoked_at === null,
    revoked: row.revoked_at !== null,
    createdAt: Number(row.created_at),
    lastSeenAt: row.last_seen_at === null ? null : Number(row.last_seen_at),
    capabilities: readCapabilities(row.capabilities),
    runningSessions,
    draining: Number(row.draining) === 1,
    priority: Number(row.priority),
    vaultRecipient: row.vault_recipient,
  };
}

export async function getDevice(db: Db, id: string): Promise<DeviceRow | undefined> {
  return db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Sessions starting or running per device. */
async function activeCounts(db: Db): Promise<Map<string | null, number>> {
  const counts = await db.selectFrom('sessions')
    .select(['device_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', 'in', ['starting', 'running'])
    .groupBy('device_id')
    .execute();
  return new Map(counts.map((c) => [c.device_id, Number(c.n)]));
}

export async function listDevices(db: Db): Promise<DeviceView[]> {
  const rows = await db.selectFrom('devices').selectAll().orderBy('created_at', 'asc').execute();
  const byDevice = await activeCounts(db);
  return rows.map((r) => deviceView(r, byDevice.get(r.id) ?? 0));
}

/** Every device as the router sees it, with the sessions the control plane has starting or running there. */
export async function deviceStates(db: Db): Promise<DeviceState[]> {
  const rows = await db.selectFrom('devices').selectAll().orderBy('created_at', 'asc').execute();
  const byDevice = await activeCounts(db);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    online: r.online === 1,
    revoked: r.revoked_at !== null,
    draining: Number(r.draining) === 1,
    priority: Number(r.priority),
    capabilities: readCapabilities(r.capabilities),
    running: byDevice.get(r.id) ?? 0,
    vaultRecipient: r.vault_recipient,
  }));
}

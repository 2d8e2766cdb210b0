import {
  capabilityDigestSchema,
  FabricError,
  type CapabilityDigest,
  type DeviceView,
  type Role,
} from '@fabric/protocol';
import { enforce, policy, type DeviceAction, type Viewer } from '../auth/policy.js';
import type { Db } from './db.js';
import type { Database, DevicesTable } from './schema.js';
import type { DeviceState } from '../router/place.js';

import { sql, type Selectable, type Transaction } from 'kysely';

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

/** Who paired each device, their role, and who it is shared with: what the policy needs. */
export interface DeviceAccess {
  ownerId: string;
  ownerName: string | null;
  ownerRole: Role | null;
  /** User ids. */
  sharedWith: string[];
  /** Names, parallel to `sharedWith`. */
  sharedWithNames: string[];
}

/** Access facts for the given devices (all when `ids` is omitted), by device id. */
export async function deviceAccess(db: Db, ids?: readonly string[]): Promise<Map<string, DeviceAccess>> {
  if (ids?.length === 0) return new Map();
  let devices = db
    .selectFrom('devices')
    .leftJoin('users', 'users.id', 'devices.owner_id')
    .select(['devices.id', 'devices.owner_id', 'users.name as owner_name', 'users.role as owner_role']);
  if (ids) devices = devices.where('devices.id', 'in', [...ids]);
  let shares = db
    .selectFrom('device_shares')
    .innerJoin('users', 'users.id', 'device_shares.user_id')
    .select(['device_shares.device_id', 'device_shares.user_id', 'users.name'])
    .orderBy('users.name');
  if (ids) shares = shares.where('device_shares.device_id', 'in', [...ids]);
  const out = new Map<string, DeviceAccess>();
  for (const d of await devices.execute()) {
    out.set(d.id, {
      ownerId: d.owner_id,
      ownerName: d.owner_name ?? null,
      ownerRole: d.owner_role ?? null,
      sharedWith: [],
      sharedWithNames: [],
    });
  }
  for (const sh of await shares.execute()) {
    const a = out.get(sh.device_id);
    if (a) {
      a.sharedWith.push(sh.user_id);
      a.sharedWithNames.push(sh.name);
    }
  }
  return out;
}

const nobody: DeviceAccess = { ownerId: '', ownerName: null, ownerRole: null, sharedWith: [], sharedWithNames: [] };

export function deviceView(row: DeviceRow, runningSessions: number, access?: DeviceAccess): DeviceView {
  return {
    ...(access
      ? {
          ownerId: access.ownerId,
          ownerName: access.ownerName,
          ownerRole: access.ownerRole,
          sharedWith: access.sharedWithNames,
        }
      : {}),
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
  const counts = await db
    .selectFrom('sessions')
    .select(['device_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', 'in', ['starting', 'running'])
    .groupBy('device_id')
    .execute();
  return new Map(counts.map((c) => [c.device_id, Number(c.n)]));
}

/** The devices `viewer` may see, oldest first, each with who paired it and who it is shared with. */
export async function listDevices(db: Db, viewer: Viewer): Promise<DeviceView[]> {
  const rows = await db.selectFrom('devices').selectAll().orderBy('created_at', 'asc').execute();
  const byDevice = await activeCounts(db);
  const access = await deviceAccess(db);
  return rows
    .filter((r) => policy.device(viewer, access.get(r.id) ?? nobody, 'read'))
    .map((r) => deviceView(r, byDevice.get(r.id) ?? 0, access.get(r.id) ?? nobody));
}

/**
 * Throws `conflict` unless `name` can name a device: unique among devices
 * that are not revoked, ignoring case, and not shaped like a device id
 * — names pick devices in pins, drains and shares, so a look-alike would
 * let one person's device stand in for another's. `exceptId` is the device
 * being renamed.
 */
export async function assertDeviceNameFree(
  db: Db | Transaction<Database>,
  name: string,
  exceptId: string | null = null,
): Promise<void> {
  if (/^dev_/i.test(name))
    throw new FabricError('conflict', `a device name may not start with "dev_" (device ids do); choose another`);
  const rows = await db.selectFrom('devices').select(['id', 'name']).where('revoked_at', 'is', null).execute();
  const clash = rows.find((r) => r.id !== exceptId && r.name.toLowerCase() === name.toLowerCase());
  if (clash) throw new FabricError('conflict', `a device named ${clash.name} is already paired; choose another name`);
}

/** One device by id or name, with its access facts; undefined when there is none. */
export async function findDevice(
  db: Db,
  idOrName: string,
): Promise<{ row: DeviceRow; access: DeviceAccess } | undefined> {
  // By name, a live device before a revoked one that once had the name.
  const row =
    (await getDevice(db, idOrName)) ??
    (await db
      .selectFrom('devices')
      .selectAll()
      .where('name', '=', idOrName)
      .orderBy(sql`revoked_at is null`, 'desc')
      .orderBy('created_at', 'desc')
      .executeTakeFirst());
  if (!row) return undefined;
  return { row, access: (await deviceAccess(db, [row.id])).get(row.id) ?? nobody };
}

/** The device's view for `viewer`, or `device_not_found` when it may not see it (as if it did not exist). */
export async function deviceFor(
  db: Db,
  viewer: Viewer,
  idOrName: string,
  action: DeviceAction,
): Promise<{ row: DeviceRow; access: DeviceAccess }> {
  const found = await findDevice(db, idOrName);
  const notFound = new FabricError('device_not_found', `no device ${idOrName}`);
  if (!found) throw notFound;
  enforce(
    policy.device(viewer, found.access, action),
    policy.device(viewer, found.access, 'read'),
    notFound,
    `${action} device ${found.row.name}`,
  );
  return found;
}

/** A device's view with its running count and access facts. */
export async function deviceViewOf(db: Db, id: string): Promise<DeviceView> {
  const found = (await findDevice(db, id))!;
  const byDevice = await activeCounts(db);
  return deviceView(found.row, byDevice.get(id) ?? 0, found.access);
}

/** Every device as the router sees it, with the sessions the control plane has starting or running there. */
export async function deviceStates(db: Db): Promise<DeviceState[]> {
  const rows = await db.selectFrom('devices').selectAll().orderBy('created_at', 'asc').execute();
  const byDevice = await activeCounts(db);
  const access = await deviceAccess(db);
  return rows.map((r) => ({
    ...(access.get(r.id) ?? nobody),
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

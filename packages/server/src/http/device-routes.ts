import { FabricError } from '@fabric/protocol';
import { topics, type DeviceCommand, type FleetChange } from '../bus.js';
import type { ServerContext } from '../context.js';
import { assertDeviceNameFree, deviceFor, deviceViewOf, listDevices } from '../store/devices.js';
import type { Bindings } from './bind.js';
import { RateLimiter } from './ratelimit.js';

type DeviceRoute =
  | 'createPairingToken'
  | 'pairDevice'
  | 'listDevices'
  | 'getDevice'
  | 'updateDevice'
  | 'revokeDevice'
  | 'shareDevice'
  | 'unshareDevice';

/** Pairing and the fleet's devices: rename, drain, priority, revoke, share. */
export function deviceBindings(ctx: ServerContext): Bindings<DeviceRoute> {
  const { db, accounts, sessions } = ctx;
  const pairLimiter = new RateLimiter(ctx.clock, 10, 60_000);
  const announce = (device: { id: string; online: number; revoked_at: number | null }) =>
    ctx.bus.publish(topics.fleet, {
      type: 'device',
      id: device.id,
      online: device.online === 1 && device.revoked_at === null,
    } satisfies FleetChange);

  return {
    createPairingToken: {
      handle: async ({ caller: user }) => accounts.createPairingToken(user.sub),
    },

    pairDevice: {
      handle: async ({ req, body }) =>
        pairLimiter.guard(`ip:${req.ip}`, ['pairing_token_invalid'], () =>
          accounts.pair(body.token, body.name, body.vaultRecipient ?? null),
        ),
    },

    listDevices: {
      handle: async ({ caller: user }) => ({ devices: await listDevices(db, user) }),
    },

    getDevice: {
      handle: async ({ caller: user, params }) => {
        const { row } = await deviceFor(db, user, params.id, 'read');
        return deviceViewOf(db, row.id);
      },
    },

    updateDevice: {
      handle: async ({ caller: user, params, body }) => {
        const { row: device } = await deviceFor(db, user, params.id, 'manage');
        const patch: { name?: string; draining?: number; priority?: number } = {};
        if (body.name !== undefined && body.name !== device.name) await assertDeviceNameFree(db, body.name, device.id);
        if (body.name !== undefined) patch.name = body.name;
        if (body.draining !== undefined) patch.draining = body.draining ? 1 : 0;
        if (body.priority !== undefined) patch.priority = body.priority;
        if (Object.keys(patch).length === 0)
          throw new FabricError('bad_request', 'body: nothing to change (name, draining, priority)');
        await db.updateTable('devices').set(patch).where('id', '=', device.id).execute();
        // Undraining or a new priority can place waiting sessions.
        if (body.draining === false || body.priority !== undefined) sessions.retryQueued().catch(() => {});
        return deviceViewOf(db, device.id);
      },
    },

    revokeDevice: {
      handle: async ({ caller: user, params }) => {
        const { row: device } = await deviceFor(db, user, params.id, 'manage');
        const id = device.id;
        if (device.revoked_at === null) {
          await db
            .updateTable('devices')
            .set({ revoked_at: ctx.clock.now(), online: 0 })
            .where('id', '=', id)
            .execute();
          ctx.bus.publish(topics.device(id), {
            type: 'close',
            code: 4003,
            reason: 'device_revoked',
          } satisfies DeviceCommand);
          await sessions.deviceGone(id);
          ctx.bus.publish(topics.fleet, { type: 'device', id, online: false } satisfies FleetChange);
        }
        return deviceViewOf(db, id);
      },
    },

    // Sharing: owners decide who else may see and use a device.
    shareDevice: {
      handle: async ({ caller: user, params, body }) => {
        const { row: device, access } = await deviceFor(db, user, params.id, 'share');
        const target = await db
          .selectFrom('users')
          .select(['id', 'name'])
          .where('name', '=', body.user)
          .executeTakeFirst();
        if (!target) throw new FabricError('not_found', `no person named ${body.user}`);
        if (target.id === access.ownerId)
          throw new FabricError('conflict', `${target.name} paired ${device.name}; it is already theirs`);
        await db
          .insertInto('device_shares')
          .values({ device_id: device.id, user_id: target.id, created_by: user.sub, created_at: ctx.clock.now() })
          .onConflict((oc) => oc.columns(['device_id', 'user_id']).doNothing())
          .execute();
        announce(device);
        sessions.retryQueued().catch(() => {});
        return deviceViewOf(db, device.id);
      },
    },

    unshareDevice: {
      handle: async ({ caller: user, params }) => {
        const { row: device } = await deviceFor(db, user, params.id, 'share');
        const target = await db.selectFrom('users').select(['id']).where('name', '=', params.user).executeTakeFirst();
        if (!target) throw new FabricError('not_found', `no person named ${params.user}`);
        await db
          .deleteFrom('device_shares')
          .where('device_id', '=', device.id)
          .where('user_id', '=', target.id)
          .execute();
        announce(device);
        return deviceViewOf(db, device.id);
      },
    },
  };
}

import { FabricError } from '@fabric/protocol';
import type { ServerContext } from '../context.js';
import { LedgerStore } from '../ledger/store.js';
import { getDevice, type DeviceRow } from '../store/devices.js';
import type { Bindings, OwnerOrDevice } from './bind.js';

/**
 * `GET /api/devices/:id/ledger[?afterSeq=&limit=]`: the device's pinned
 * ledger key and accepted checkpoints, oldest first. Served in both modes:
 * a local-mode node anchors its own device too.
 */
export function ledgerBindings(ctx: ServerContext): Bindings<'deviceLedger'> {
  const ledger = new LedgerStore(ctx.db, ctx.clock);
  return {
    deviceLedger: {
      owner: { action: 'read_ledger', refusal: "only an owner can read a device's ledger checkpoints" },
      handle: async ({ caller, params, query }) => {
        const device = await ledgerDevice(ctx, caller, params.id);
        return ledger.list(device.id, query.afterSeq, query.limit);
      },
    },
  };
}

/**
 * The device whose checkpoints `caller` asked for: an owner names any
 * device by id or name (revoked ones included); a device only itself, so
 * it can check its local ledger against the anchor. Throws `forbidden` for
 * another device's token, `device_revoked` for a revoked device's own
 * token, `device_not_found`.
 */
async function ledgerDevice(ctx: ServerContext, caller: OwnerOrDevice, id: string): Promise<DeviceRow> {
  if (caller.kind === 'device') {
    if (caller.device.sub !== id)
      throw new FabricError('forbidden', 'a device may read only its own ledger checkpoints');
    const device = await getDevice(ctx.db, id);
    if (!device)
      throw new FabricError('device_not_found', 'this device is not paired; pair it again with "optimal pair"');
    if (device.revoked_at !== null)
      throw new FabricError('device_revoked', 'this device was revoked; pair it again with "optimal pair"');
    return device;
  }
  const device =
    (await getDevice(ctx.db, id)) ??
    (await ctx.db.selectFrom('devices').selectAll().where('name', '=', id).executeTakeFirst());
  if (!device) throw new FabricError('device_not_found', `no device ${id}`);
  return device;
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FabricError } from '@fabric/protocol';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { LedgerStore, MAX_LEDGER_PAGE } from '../ledger/store.js';
import { getDevice, type DeviceRow } from '../store/devices.js';
import { policy } from '../auth/policy.js';
import { requireUser } from './auth.js';
import { parse } from './validate.js';

const idParams = z.object({ id: z.string().min(1).max(128) });
const ledgerQuery = z.object({
  afterSeq: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_LEDGER_PAGE).default(1000),
});

/**
 * `GET /api/devices/:id/ledger[?afterSeq=&limit=]`: the device's pinned
 * ledger key and accepted checkpoints, oldest first (`ledgerCheckpointListSchema`).
 * A page holds at most `limit` (default 1000); read on with `afterSeq` set
 * to the last seq received until a page comes back short. Served in both
 * modes: a local-mode node anchors its own device too.
 */
export function registerLedgerRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const ledger = new LedgerStore(ctx.db, ctx.clock);

  app.get('/api/devices/:id/ledger', async (req) => {
    const { id } = parse(idParams, req.params, 'params');
    const q = parse(ledgerQuery, req.query, 'query');
    const device = await requireLedgerReader(ctx, req, id);
    return ledger.list(device.id, q.afterSeq, q.limit);
  });
}

/**
 * Who may read a device's checkpoints: an owner (user token or cookie; by
 * device id or name, revoked devices included), or the device itself with
 * its own device token so it can check its local ledger against the anchor.
 * Returns the device; throws `forbidden` for another device's token,
 * `device_revoked` for a revoked device's own token, `device_not_found`,
 * or whatever `requireUser` throws.
 */
async function requireLedgerReader(ctx: ServerContext, req: FastifyRequest, id: string): Promise<DeviceRow> {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) {
    const claims = await ctx.tokens.verify(header.slice(7).trim(), ['device', 'browser', 'cli']);
    if (claims.typ === 'device') {
      if (claims.sub !== id) throw new FabricError('forbidden', 'a device may read only its own ledger checkpoints');
      const device = await getDevice(ctx.db, id);
      if (!device)
        throw new FabricError('device_not_found', 'this device is not paired; pair it again with "optimal pair"');
      if (device.revoked_at !== null)
        throw new FabricError('device_revoked', 'this device was revoked; pair it again with "optimal pair"');
      return device;
    }
  }
  const user = await requireUser(ctx, req);
  if (!policy.account(user, 'read_ledger'))
    throw new FabricError('forbidden', "only an owner can read a device's ledger checkpoints");
  const device =
    (await getDevice(ctx.db, id)) ??
    (await ctx.db.selectFrom('devices').selectAll().where('name', '=', id).executeTakeFirst());
  if (!device) throw new FabricError('device_not_found', `no device ${id}`);
  return device;
}

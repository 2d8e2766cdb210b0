import { FabricError, MAX_LEDGER_PAGE, type LedgerCheckpoint, type LedgerCheckpointList } from '@fabric/protocol';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';
import { judgeCheckpoint } from './judge.js';
import { checkpointSignatureValid } from '@fabric/vault';

/** Largest page `list` returns (the route table's bound); a reader pages on with `afterSeq` = the last seq it got. */
export { MAX_LEDGER_PAGE };

/**
 * The control plane's copy of each device's ledger checkpoints: the ledger
 * anchor. It never sees ledger content, only signed (seq, head) pairs, and
 * keeps every one it accepts so a device whose local ledger was later
 * rewritten no longer matches. Works on any Kysely dialect the store runs on.
 */
export class LedgerStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /**
   * Check one checkpoint from `deviceId` (already authenticated) and keep it.
   * Returns `stored` for a new checkpoint and `resent` for one identical in
   * seq and head to a kept one (nothing is written). Throws FabricError
   * `bad_request` when the signature does not verify, `ledger_conflict` when
   * it contradicts what is kept (see `judgeCheckpoint`); nothing is written then.
   */
  async record(deviceId: string, cp: LedgerCheckpoint): Promise<'stored' | 'resent'> {
    if (!checkpointSignatureValid(deviceId, cp)) {
      throw new FabricError(
        'bad_request',
        `checkpoint ${cp.seq}: the signature does not verify with its public key; sign the checkpoint message for this device id`,
      );
    }
    return this.db.transaction().execute(async (trx) => {
      const anchor = await trx
        .selectFrom('ledger_anchors')
        .select(['public_key', 'max_seq'])
        .where('device_id', '=', deviceId)
        .executeTakeFirst();
      const atSeq = await trx
        .selectFrom('ledger_checkpoints')
        .select('head')
        .where('device_id', '=', deviceId)
        .where('seq', '=', cp.seq)
        .executeTakeFirst();
      const verdict = judgeCheckpoint(
        {
          pinnedKey: anchor?.public_key ?? null,
          maxSeq: anchor ? Number(anchor.max_seq) : 0,
          headAtSeq: atSeq?.head ?? null,
        },
        cp,
      );
      if (verdict.kind === 'refuse') throw new FabricError(verdict.code, verdict.message);
      if (verdict.kind === 'resend') return 'resent';

      const now = this.clock.now();
      if (!anchor) {
        // Trust on first use: the first valid checkpoint's key is the device's from now on.
        await trx
          .insertInto('ledger_anchors')
          .values({ device_id: deviceId, public_key: cp.publicKey, pinned_at: now, max_seq: cp.seq })
          .execute();
      } else {
        // Compare-and-set rather than a plain write: where the store has row locks (PostgreSQL), a
        // concurrent checkpoint for this device waits here and then finds max_seq already past it.
        const moved = await trx
          .updateTable('ledger_anchors')
          .set({ max_seq: cp.seq })
          .where('device_id', '=', deviceId)
          .where('max_seq', '<', cp.seq)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) {
          throw new FabricError(
            'ledger_conflict',
            `checkpoint ${cp.seq} arrived after a higher one; the device's ledger went backwards`,
          );
        }
      }
      await trx
        .insertInto('ledger_checkpoints')
        .values({
          device_id: deviceId,
          seq: cp.seq,
          head: cp.head,
          at: cp.at,
          signature: cp.signature,
          received_at: now,
        })
        .execute();
      return 'stored';
    });
  }

  /**
   * The pinned key (null before the first checkpoint) and the checkpoints
   * with seq above `afterSeq`, oldest first, at most `limit` of them. Does
   * not check that the device exists: the caller does.
   */
  async list(deviceId: string, afterSeq = 0, limit = MAX_LEDGER_PAGE): Promise<LedgerCheckpointList> {
    const anchor = await this.db
      .selectFrom('ledger_anchors')
      .select('public_key')
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    if (!anchor) return { deviceId, publicKey: null, checkpoints: [] };
    const rows = await this.db
      .selectFrom('ledger_checkpoints')
      .select(['seq', 'head', 'at', 'signature', 'received_at'])
      .where('device_id', '=', deviceId)
      .where('seq', '>', afterSeq)
      .orderBy('seq', 'asc')
      .limit(Math.min(limit, MAX_LEDGER_PAGE))
      .execute();
    return {
      deviceId,
      publicKey: anchor.public_key,
      // A stored checkpoint was verified with the pinned key, the only one a device's checkpoints may carry.
      checkpoints: rows.map((r) => ({
        seq: Number(r.seq),
        head: r.head,
        at: Number(r.at),
        publicKey: anchor.public_key,
        signature: r.signature,
        receivedAt: Number(r.received_at),
      })),
    };
  }
}

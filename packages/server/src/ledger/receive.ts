import { FabricError, type Envelope, type EnvelopeOf } from '@fabric/protocol';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { LedgerStore } from './store.js';

/**
 * The answer to a `ledger.checkpoint` from an authenticated device socket:
 * `ledger.checkpoint_ack {seq}` when it was kept (or was an identical
 * resend), else an `error` (`bad_request` for a bad signature,
 * `ledger_conflict` for a contradiction) with a warning in the server log.
 * Both reuse the checkpoint's corrId; the socket stays open either way.
 * A store failure rethrows, for the gateway's own `internal` answer.
 */
export async function answerCheckpoint(
  deps: { ledger: LedgerStore; log: Logger; clock: Clock },
  deviceId: string,
  env: EnvelopeOf<'ledger.checkpoint'>,
): Promise<Envelope> {
  const cp = env.payload;
  try {
    await deps.ledger.record(deviceId, cp);
    return {
      corrId: env.corrId,
      type: 'ledger.checkpoint_ack',
      direction: 'to_device',
      ts: deps.clock.now(),
      payload: { seq: cp.seq },
    };
  } catch (err) {
    if (!(err instanceof FabricError) || (err.code !== 'ledger_conflict' && err.code !== 'bad_request')) throw err;
    deps.log.warn(`device ${deviceId}: ledger checkpoint ${cp.seq} refused (${err.code}): ${err.message}`);
    return {
      corrId: env.corrId,
      type: 'error',
      direction: 'to_device',
      ts: deps.clock.now(),
      payload: { code: err.code, message: err.message },
    };
  }
}

import type { DaemonModule } from '../../kernel/index.js';
import { Checkpointer } from './checkpoint.js';
import type { LedgerSigner } from './key.js';

export interface CheckpointsModuleOptions {
  deviceId: string;
  /** The device's ledger signing key. */
  key: LedgerSigner;
  /** A checkpoint goes out after this many new events (default 1000)… */
  everyEvents?: number | undefined;
  /** …or this long after the last one (default 5 minutes). */
  everyMs?: number | undefined;
}

/** The checkpoints module, with the hook the kernel's `audit` calls after each append. */
export interface CheckpointsModule extends DaemonModule {
  /** An event was appended: send a checkpoint if one is due. A no-op before `start`. */
  appended(): void;
}

/**
 * Signed checkpoints of the ledger's head, sent to the control plane (see
 * `Checkpointer` for when), so it can prove later that the device's history
 * was not rewritten. Sends the head on every `welcome` (a new connection) and
 * forgets what `ledger.checkpoint_ack` confirms.
 */
export function checkpointsModule(opts: CheckpointsModuleOptions): CheckpointsModule {
  let checkpointer: Checkpointer | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  return {
    name: 'checkpoints',
    start(c) {
      const cp = new Checkpointer({
        deviceId: opts.deviceId,
        key: opts.key,
        head: () => c.ledger.head(),
        send: (checkpoint) =>
          c.emit({
            corrId: `lcp_${checkpoint.seq}`,
            type: 'ledger.checkpoint',
            direction: 'to_cloud',
            ts: c.clock.now(),
            payload: checkpoint,
          }),
        now: () => c.clock.now(),
        ...(opts.everyEvents === undefined ? {} : { everyEvents: opts.everyEvents }),
        ...(opts.everyMs === undefined ? {} : { everyMs: opts.everyMs }),
      });
      checkpointer = cp;
      timer = setInterval(() => cp.tick(), Math.min(opts.everyMs ?? 30_000, 30_000));
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      checkpointer = null;
    },
    appended: () => void checkpointer?.tick(),
    envelopes: {
      welcome: () => void checkpointer?.connected(),
      'ledger.checkpoint_ack': (env) => checkpointer?.acked(env.payload.seq),
    },
  };
}

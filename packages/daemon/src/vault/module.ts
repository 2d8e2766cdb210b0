import type { SessionStartPayload } from '@fabric/protocol';
import { auditOrLog, contextSlot, type DaemonModule } from '../kernel/index.js';
import { CredentialCache } from './cache.js';
import { readDeviceKey } from './device-key.js';

/** The vault module, with what the composition reads from it. */
export interface VaultModule extends DaemonModule {
  /**
   * A session's credentials, decrypted with this device's key (cached in RAM
   * for 15 minutes at most), each read on the record as `vault.access`.
   * Rejects `credential_unavailable` when this device cannot decrypt one.
   */
  credentials(start: SessionStartPayload): Promise<Map<string, Uint8Array>>;
  /** The device's vault recipient (age1…), announced in hello; null without a device key. */
  recipient(): string | null;
}

/**
 * The device's side of the end-to-end encrypted vault: its own age key
 * (`device-key`, made at pairing) and the plaintexts it decrypted for
 * sessions, zeroed when they expire or the daemon stops.
 */
export function vaultModule(): VaultModule {
  const ctx = contextSlot('vault');
  const cache = new CredentialCache(() => readDeviceKey(ctx.get().dataDir)?.identity ?? null);
  return {
    name: 'vault',
    start: ctx.set,
    stop() {
      cache.clear();
    },
    async credentials(start) {
      const c = ctx.get();
      const names = start.credentials.map((x) => x.name);
      try {
        const plain = await cache.resolve(start.credentials);
        auditOrLog(c, 'daemon', 'vault.access', { sessionId: start.sessionId, names, ok: true });
        return plain;
      } catch (err) {
        auditOrLog(c, 'daemon', 'vault.access', {
          sessionId: start.sessionId,
          names,
          ok: false,
          code: (err as { code?: string }).code ?? 'internal',
        });
        throw err;
      }
    },
    recipient: () => readDeviceKey(ctx.get().dataDir)?.recipient ?? null,
  };
}

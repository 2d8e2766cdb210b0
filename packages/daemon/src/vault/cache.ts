import { FabricError, type SessionCredential } from '@fabric/protocol';
import { decryptEntry } from '@fabric/vault';

export const CREDENTIAL_TTL_MS = 15 * 60 * 1000;

interface Cached {
  version: number;
  plaintext: Uint8Array;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Decrypted credentials, in RAM only, for at most 15 minutes each: on
 * expiry (or `clear`) the buffer is overwritten with zeros and dropped. A
 * newer version of an entry replaces the cached one. Nothing here is ever
 * written to disk or logged.
 */
export class CredentialCache {
  private readonly entries = new Map<string, Cached>();

  constructor(
    private readonly identity: () => string | null,
    private readonly ttlMs = CREDENTIAL_TTL_MS,
  ) {}

  /**
   * The plaintext of each credential, decrypting what is not cached. Throws
   * `credential_unavailable` when this device cannot decrypt one (not a
   * recipient of the version sent, or no device key).
   */
  async resolve(credentials: readonly SessionCredential[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    for (const c of credentials) out.set(c.name, await this.one(c));
    return out;
  }

  /** How many plaintexts are held right now. */
  get size(): number {
    return this.entries.size;
  }

  /** Zero and forget everything (daemon shutdown). */
  clear(): void {
    for (const name of [...this.entries.keys()]) this.evict(name);
  }

  private async one(c: SessionCredential): Promise<Uint8Array> {
    const hit = this.entries.get(c.name);
    if (hit?.version === c.version) return hit.plaintext;
    const identity = this.identity();
    if (!identity)
      throw new FabricError('credential_unavailable', 'this device has no vault key; pair it again to make one');
    let plaintext: Uint8Array;
    try {
      plaintext = await decryptEntry(c.ciphertext, [identity]);
    } catch {
      throw new FabricError(
        'credential_unavailable',
        `this device cannot decrypt ${c.name}: it is not a recipient of that entry; run "optimal vault enrol"`,
      );
    }
    if (hit) this.evict(c.name);
    const timer = setTimeout(() => this.evict(c.name), this.ttlMs);
    timer.unref();
    this.entries.set(c.name, { version: c.version, plaintext, timer });
    return plaintext;
  }

  private evict(name: string): void {
    const e = this.entries.get(name);
    if (!e) return;
    clearTimeout(e.timer);
    e.plaintext.fill(0);
    this.entries.delete(name);
  }
}

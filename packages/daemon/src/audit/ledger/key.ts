import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { FabricError } from '@fabric/protocol';

/** What signs checkpoints: the device's ledger key, or a fake in tests. */
export interface LedgerSigner {
  /** Raw Ed25519 public key, unpadded base64url (43 chars). */
  readonly publicKey: string;
  /** Ed25519 signature over the UTF-8 of `text`, unpadded base64url (86 chars). */
  sign(text: string): string;
}

export function ledgerKeyPath(dataDir: string): string {
  return join(dataDir, 'ledger.key');
}

const b64url32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/);
/** The file holds the key as a JWK: the format node:crypto imports and exports as is. */
const keyFileSchema = z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), d: b64url32, x: b64url32 });

/** The device's Ed25519 ledger key, loaded from (or made into) its file. */
export class LedgerKey implements LedgerSigner {
  readonly publicKey: string;
  private readonly privateKey: KeyObject;

  private constructor(privateKey: KeyObject, publicKey: string) {
    this.privateKey = privateKey;
    this.publicKey = publicKey;
  }

  /**
   * The key kept at `file` (the daemon's: `<dataDir>/ledger.key`), made
   * there (0600, directory 0700) on first use. Two processes racing to make
   * it end up with the same key: the file appears whole or not at all
   * (written aside, then hard-linked into place), and the loser reads the
   * winner's. A file that exists but does not hold a valid key throws
   * `FabricError('internal')` and is left alone: replacing it would silently
   * break the device's checkpoint history with the control plane.
   */
  static loadOrCreate(file: string): LedgerKey {
    const existing = LedgerKey.load(file);
    if (existing) return existing;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const jwk = privateKey.export({ format: 'jwk' });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(tmp, JSON.stringify({ kty: jwk.kty, crv: jwk.crv, d: jwk.d, x: jwk.x }) + '\n', {
      mode: 0o600,
      flag: 'wx',
    });
    try {
      linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
    return LedgerKey.load(file)!;
  }

  /** The key kept at `file`; null when there is no file; throws `FabricError('internal')` when the file is damaged. */
  static load(file: string): LedgerKey | null {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const damaged = () =>
      new FabricError(
        'internal',
        `ledger key file ${file} is damaged; restore it from a backup (a new key would break the device's checkpoint history)`,
      );
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw damaged();
    }
    const parsed = keyFileSchema.safeParse(json);
    if (!parsed.success) throw damaged();
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: parsed.data, format: 'jwk' });
    } catch {
      throw damaged();
    }
    // The stored public half must be the private half's: a file edited by hand is not trusted.
    const x = createPublicKey(privateKey).export({ format: 'jwk' }).x;
    if (x !== parsed.data.x) throw damaged();
    return new LedgerKey(privateKey, x);
  }

  sign(text: string): string {
    return sign(null, Buffer.from(text, 'utf8'), this.privateKey).toString('base64url');
  }
}

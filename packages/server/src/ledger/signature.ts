import { createPublicKey, verify } from 'node:crypto';
import { ledgerCheckpointMessage, type LedgerCheckpoint } from '@fabric/protocol';

/**
 * Whether `cp.signature` is a valid Ed25519 signature by `cp.publicKey` over
 * `ledgerCheckpointMessage(deviceId, cp)`. Never throws: a key that is not
 * an Ed25519 point, or a signature of the wrong shape, is simply not valid.
 * It says nothing about whether the key is the device's pinned one.
 */
export function checkpointSignatureValid(deviceId: string, cp: LedgerCheckpoint): boolean {
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: cp.publicKey }, format: 'jwk' });
    const message = Buffer.from(ledgerCheckpointMessage(deviceId, cp), 'utf8');
    return verify(null, message, key, Buffer.from(cp.signature, 'base64url'));
  } catch {
    return false;
  }
}

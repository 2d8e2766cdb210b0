import { ed25519 } from '@noble/curves/ed25519.js';
import { ledgerCheckpointMessage, type LedgerCheckpoint } from '@fabric/protocol';
import { fromBase64url, utf8Bytes } from './bytes.js';

/**
 * Whether `cp.signature` is a valid Ed25519 signature by `cp.publicKey` over
 * `ledgerCheckpointMessage(deviceId, cp)`, under RFC 8032's strict rules (the
 * same verdict as Node's `crypto.verify`). Never throws: a key that is not an
 * Ed25519 point, or a signature of the wrong shape, is simply not valid. It
 * says nothing about whether the key is the device's pinned one. Runs in
 * browsers and Node alike, so the daemon, the control plane and the cockpit
 * share one check.
 */
export function checkpointSignatureValid(deviceId: string, cp: LedgerCheckpoint): boolean {
  const sig = fromBase64url(cp.signature);
  const pub = fromBase64url(cp.publicKey);
  if (!sig || !pub || sig.length !== 64 || pub.length !== 32) return false;
  try {
    return ed25519.verify(sig, utf8Bytes(ledgerCheckpointMessage(deviceId, cp)), pub, { zip215: false });
  } catch {
    return false;
  }
}

import { z } from 'zod';
import { timestampSchema } from './text.js';

/**
 * A signed statement by a device that its ledger's event `seq` has hash
 * `head`. The device signs it with its ledger key (Ed25519) and sends it to
 * the control plane, which keeps every one it accepts: a device whose ledger
 * file was later rewritten, truncated or rolled back no longer matches the
 * checkpoints held elsewhere.
 */
export const ledgerCheckpointSchema = z.object({
  seq: z.number().int().positive(),
  /** SHA-256 of event `seq` (hex), which chains over every event before it. */
  head: z.string().regex(/^[0-9a-f]{64}$/),
  /** When the device signed it (ms since the epoch). */
  at: timestampSchema(),
  /** The device's ledger public key: raw Ed25519, unpadded base64url (43 chars). */
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  /** Ed25519 signature over `ledgerCheckpointMessage(deviceId, …)`, unpadded base64url (86 chars). */
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
});
export type LedgerCheckpoint = z.infer<typeof ledgerCheckpointSchema>;

/**
 * The exact text a checkpoint signature covers (UTF-8). Every field has a
 * fixed alphabet without newlines, so the encoding is unambiguous; the
 * device id binds a checkpoint to one device.
 */
export function ledgerCheckpointMessage(deviceId: string, cp: Pick<LedgerCheckpoint, 'seq' | 'head' | 'at'>): string {
  return `fabric-ledger-checkpoint/v1\n${deviceId}\n${cp.seq}\n${cp.head}\n${cp.at}`;
}

/** `GET /api/devices/:id/ledger`: the key the control plane pinned for the device and every checkpoint it accepted, oldest first. */
export const ledgerCheckpointListSchema = z.object({
  deviceId: z.string(),
  publicKey: z.string().nullable(),
  checkpoints: z.array(ledgerCheckpointSchema.extend({ receivedAt: z.number() })),
});
export type LedgerCheckpointList = z.infer<typeof ledgerCheckpointListSchema>;

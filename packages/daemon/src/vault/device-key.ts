import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { generateIdentity, type VaultIdentity } from '@fabric/vault';
import { writePrivateJson } from '@fabric/node';

const keyFileSchema = z.object({
  identity: z.string().startsWith('AGE-SECRET-KEY-'),
  recipient: z.string().startsWith('age1'),
});

export function deviceKeyPath(dataDir: string): string {
  return join(dataDir, 'vault.key');
}

/** The device's vault identity, or null when this data directory has none. */
export function readDeviceKey(dataDir: string): VaultIdentity | null {
  const file = deviceKeyPath(dataDir);
  if (!existsSync(file)) return null;
  const parsed = keyFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data : null;
}

/**
 * The device's X25519 vault identity, made once (at pairing) and kept in
 * `vault.key` (0600). Only its recipient ever leaves the machine.
 */
export async function ensureDeviceKey(dataDir: string): Promise<VaultIdentity> {
  const existing = readDeviceKey(dataDir);
  if (existing) return existing;
  const made = await generateIdentity();
  writePrivateJson(deviceKeyPath(dataDir), made);
  return made;
}

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { FabricError } from '@fabric/protocol';

/** What `optimal pair` stores in a device's data directory (`device.json`, 0600). */
export const deviceFileSchema = z.object({
  server: z.string().url(),
  deviceId: z.string(),
  name: z.string(),
  token: z.string(),
  pairedAt: z.number(),
});
export type DeviceFile = z.infer<typeof deviceFileSchema>;

export function deviceFilePath(dataDir: string): string {
  return join(dataDir, 'device.json');
}

/** The device's pairing, or null when this data directory was never paired. */
export function readDeviceFile(dataDir: string): DeviceFile | null {
  const file = deviceFilePath(dataDir);
  if (!existsSync(file)) return null;
  const parsed = deviceFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new FabricError('bad_request', `${file} is damaged; pair this device again`);
  return parsed.data;
}

/**
 * Write a private file atomically: a temp file of its own (0600, created
 * exclusively) beside it, then a rename; the directory is made 0700 when
 * missing. A failure leaves the old file and no temp file.
 */
export function writePrivateFile(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Write a private JSON file atomically (see writePrivateFile). */
export function writePrivateJson(file: string, value: unknown): void {
  writePrivateFile(file, JSON.stringify(value, null, 2) + '\n');
}

export function writeDeviceFile(dataDir: string, value: DeviceFile): void {
  writePrivateJson(deviceFilePath(dataDir), value);
}

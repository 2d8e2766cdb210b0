import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateJson } from '@fabric/node';
import { z } from 'zod';
import { FabricError } from '@fabric/protocol';

/** What `optimal pair` stores in a device's data directory (`device.json`, 0600). */
export const deviceFileSchema = z.object({
  server: z.url(),
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

export function writeDeviceFile(dataDir: string, value: DeviceFile): void {
  writePrivateJson(deviceFilePath(dataDir), value);
}

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateFile } from '@fabric/node';
import { OWNER_TOKEN_FILE } from './protocol.js';

/**
 * Make a new owner token for the agent API and write it to `agent.token` in
 * the data directory (0600, atomically). A new one each daemon start: an old
 * copy stops working when the daemon restarts.
 *
 * What it proves: the caller can read this user's data directory. Harness
 * sessions run as the same user, so a session that reads the file could act
 * as the owner; the permission modes (which gate a harness's file reads) and
 * running the daemon as a dedicated user are what keep them apart.
 */
export function writeOwnerToken(dataDir: string): string {
  const token = randomBytes(32).toString('base64url');
  writePrivateFile(join(dataDir, OWNER_TOKEN_FILE), `${token}\n`);
  return token;
}

/** The owner token the running daemon wrote, or null when there is none. */
export function readOwnerToken(dataDir: string): string | null {
  const file = join(dataDir, OWNER_TOKEN_FILE);
  if (!existsSync(file)) return null;
  const token = readFileSync(file, 'utf8').trim();
  return /^[A-Za-z0-9_-]{43}$/.test(token) ? token : null;
}

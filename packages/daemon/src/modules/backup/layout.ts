import { randomBytes } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { FabricError, backupIdSchema } from '@fabric/protocol';

// The daemon data dir as backups see it. Other modules own these files; a
// backup only reads them (and a restore only replaces the records and memory).

/** Hash-chained ledger: copied for the record, never restored over. */
export const LEDGER_DB = 'ledger.db';
/** Receipts and incidents. */
export const AGENT_DB = 'agent.db';
/** The memory's ground truth (markdown files); its index is derived and never backed up. */
export const MEMORY_DIR = 'memory';
/** Where backups live: `<dataDir>/backups/<backupId>/`. */
export const BACKUPS_DIR = 'backups';
/** Written last, so a backup without one is incomplete. */
export const MANIFEST = 'manifest.json';

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A new backup id for time `now`: `bak_20250102T030405678Z_k3x9q0ab`, sortable by time. */
export function newBackupId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:.]/g, ''); // 20250102T030405678Z
  let suffix = '';
  for (const b of randomBytes(8)) suffix += ID_ALPHABET[b % ID_ALPHABET.length]!;
  return `bak_${stamp}_${suffix}`;
}

/**
 * The directory of backup `backupId`. The id is checked against its fixed
 * pattern first, so an agent-supplied id can never name a path outside
 * `<dataDir>/backups/` (`../x` is refused with `bad_request`).
 */
export function backupPath(dataDir: string, backupId: string): string {
  if (!backupIdSchema.safeParse(backupId).success)
    throw new FabricError('bad_request', 'malformed backup id: list backups with backup_list');
  return join(dataDir, BACKUPS_DIR, backupId);
}

/** Whether anything is at `path`, a dangling symlink included (unlike existsSync). */
export function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

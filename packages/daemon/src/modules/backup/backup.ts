import { chmodSync, copyFileSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  backupIdSchema,
  type BackupCreated,
  type BackupFile,
  type BackupListEntry,
  type BackupManifest,
  type BackupPart,
} from '@fabric/protocol';
import { snapshotStore } from '../../kernel/index.js';
import { AGENT_DB, BACKUPS_DIR, LEDGER_DB, MANIFEST, MEMORY_DIR, exists, newBackupId } from './layout.js';
import { checkManifest, sha256File } from './manifest.js';

export { restoreBackup, type RestoreOptions } from './restore.js';

export interface CreateBackupOptions {
  dataDir: string;
  /** The clock that stamps the backup (ms since the epoch). */
  now?: () => number;
}

/**
 * Back up the daemon's data: consistent online copies of `ledger.db` and
 * `agent.db` and a copy of the `memory/` tree, with a `manifest.json` giving
 * each file's size and SHA-256. Parts that do not exist yet are left out (and
 * not listed in `parts`). Keys and tokens (`device.json`, `vault.key`,
 * `ledger.key`) and the rebuildable memory index are never copied.
 *
 * The backup is assembled in `<dataDir>/backups/.tmp-<id>/` and renamed into
 * place when complete, so `<dataDir>/backups/<id>/` either is whole or does
 * not exist. Directories are 0700, files 0600.
 */
export async function createBackup({ dataDir, now = Date.now }: CreateBackupOptions): Promise<BackupCreated> {
  const createdAt = now();
  const backupId = newBackupId(createdAt);
  const root = join(dataDir, BACKUPS_DIR);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  chmodSync(root, 0o700);
  // Not a valid backup id, so listings never show a half-made backup.
  const staging = join(root, `.tmp-${backupId}`);
  mkdirSync(staging, { mode: 0o700 });
  try {
    const parts: BackupPart[] = [];
    const paths: string[] = [];
    if (await snapshotStore(join(dataDir, LEDGER_DB), join(staging, LEDGER_DB))) {
      parts.push('ledger');
      paths.push(LEDGER_DB);
    }
    if (await snapshotStore(join(dataDir, AGENT_DB), join(staging, AGENT_DB))) {
      parts.push('agent');
      paths.push(AGENT_DB);
    }
    const memory = copyTree(join(dataDir, MEMORY_DIR), join(staging, MEMORY_DIR));
    if (memory) {
      parts.push('memory');
      paths.push(...memory.map((p) => `${MEMORY_DIR}/${p}`));
    }

    const files: BackupFile[] = [];
    for (const path of paths) {
      const full = join(staging, path);
      files.push({ path, sizeBytes: statSync(full).size, sha256: await sha256File(full) });
    }
    const manifest: BackupManifest = { format: 'fabric-backup/v1', backupId, createdAt, parts, files };
    writeFileSync(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, flag: 'wx' });

    const path = join(root, backupId);
    renameSync(staging, path);
    return { backupId, path, sizeBytes: files.reduce((sum, f) => sum + f.sizeBytes, 0), createdAt, parts, files };
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Every backup in `<dataDir>/backups/`, newest first. A backup whose
 * manifest is missing or malformed, or whose files are missing or of the
 * wrong size, is listed as `damaged` with the reason (hashes are not checked
 * here: a restore checks them). No backups directory: an empty list.
 */
export function listBackups(dataDir: string): BackupListEntry[] {
  const root = join(dataDir, BACKUPS_DIR);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((name) => backupIdSchema.safeParse(name).success)
    .sort()
    .reverse()
    .map((backupId) => describeBackup(join(root, backupId), backupId));
}

function describeBackup(path: string, backupId: string): BackupListEntry {
  const checked = statSync(path).isDirectory() ? checkManifest(path, backupId) : 'not a directory';
  if (typeof checked === 'string') return { status: 'damaged', backupId, path, reason: checked };
  for (const file of checked.files) {
    let size: number;
    try {
      size = statSync(join(path, file.path)).size;
    } catch {
      return { status: 'damaged', backupId, path, reason: `${file.path} is missing` };
    }
    if (size !== file.sizeBytes)
      return { status: 'damaged', backupId, path, reason: `${file.path} has the wrong size` };
  }
  return {
    status: 'ok',
    backupId,
    path,
    sizeBytes: checked.files.reduce((sum, f) => sum + f.sizeBytes, 0),
    createdAt: checked.createdAt,
    parts: checked.parts,
    fileCount: checked.files.length,
  };
}

/**
 * Copy the regular files of tree `src` into `dest` (dirs 0700, files 0600)
 * and answer their paths relative to `src`, `/`-separated and sorted; null
 * when `src` is not a directory. Symlinks and special files are skipped: a
 * link could point anywhere (a restore would turn it into a file), and the
 * memory holds plain files. So are dot-files (the memory's half-written
 * temp files, renamed into place when complete) and names with a backslash,
 * which a manifest path may not hold.
 */
function copyTree(src: string, dest: string): string[] | null {
  if (!exists(src) || !statSync(src).isDirectory()) return null;
  const copied: string[] = [];
  const walk = (from: string, to: string, rel: string): void => {
    mkdirSync(to, { mode: 0o700 });
    chmodSync(to, 0o700);
    for (const entry of readdirSync(from, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (entry.name.startsWith('.') || entry.name.includes('\\')) continue;
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(join(from, entry.name), join(to, entry.name), path);
      else if (entry.isFile()) {
        try {
          copyFileSync(join(from, entry.name), join(to, entry.name));
        } catch (err) {
          // Removed since the listing (the memory is live): it is simply not in this backup.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw err;
        }
        chmodSync(join(to, entry.name), 0o600);
        copied.push(path);
      }
    }
  };
  walk(src, dest, '');
  return copied.sort();
}

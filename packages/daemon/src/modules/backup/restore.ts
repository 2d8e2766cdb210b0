import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FabricError, type BackupManifest, type BackupRestored } from '@fabric/protocol';
import { withRecordsStore, type Records } from '../../kernel/index.js';
import { AGENT_DB, MEMORY_DIR, backupPath, exists } from './layout.js';
import { damaged, readManifest, sha256File } from './manifest.js';

export interface RestoreOptions {
  /** The daemon's live records store: rows are restored through its connection. Omitted: `agent.db` is opened for the restore. */
  records?: Records;
}

/**
 * Why the ledger is never restored: it is append-only and anchored by signed
 * checkpoints held by the control plane, so writing an older copy over it
 * would look exactly like the rollback those checkpoints exist to catch (and
 * would drop every event since). The copy in a backup is kept for the
 * record; it verifies on its own.
 */
const LEDGER_NOT_RESTORED =
  'the ledger is append-only and anchored by signed checkpoints, so it is never restored over; its copy in the backup can be verified on its own';

/**
 * Restore backup `backupId` into `dataDir`: the receipts and incidents, and
 * the memory files. Never the ledger (see `LEDGER_NOT_RESTORED`).
 *
 * Every file is first copied out of the backup into a staging directory and
 * checked against the manifest (size and SHA-256 of the copy actually used),
 * so a corrupt or incomplete backup is refused (`conflict`) with nothing
 * changed. Then the memory tree is swapped in with two renames, and the rows
 * are replaced in one transaction on the live connection; if that fails, the
 * old memory tree is put back. The memory index is not touched: when
 * `reindexNeeded`, the caller rebuilds it from the restored files.
 *
 * Throws `bad_request` for a malformed id, `not_found` for an unknown backup.
 */
export async function restoreBackup(
  dataDir: string,
  backupId: string,
  { records }: RestoreOptions = {},
): Promise<BackupRestored> {
  const dir = backupPath(dataDir, backupId);
  if (!isDirectory(dir)) throw new FabricError('not_found', `no backup ${backupId}: list them with backup_list`);
  const manifest = readManifest(dir, backupId);

  // In the data dir, so the memory swap is a rename on one file system.
  const staging = mkdtempSync(join(dataDir, '.restore-'));
  try {
    await stageVerified(dir, manifest, staging);

    const restored: string[] = [];
    const skipped: BackupRestored['skipped'] = [{ name: 'ledger', reason: LEDGER_NOT_RESTORED }];
    let undoMemory: (() => void) | null = null;
    if (manifest.parts.includes('memory')) {
      mkdirSync(join(staging, MEMORY_DIR), { recursive: true, mode: 0o700 });
      undoMemory = swapMemory(dataDir, staging);
    }
    if (manifest.parts.includes('agent')) {
      try {
        replaceRecords(dataDir, join(staging, AGENT_DB), records);
      } catch (err) {
        undoMemory?.();
        throw err;
      }
      restored.push('receipts', 'incidents');
    } else {
      skipped.push({ name: 'receipts and incidents', reason: 'this backup has no agent.db' });
    }
    if (undoMemory) restored.push('memory');
    else skipped.push({ name: 'memory', reason: 'this backup has no memory files' });

    return { restoredFrom: backupId, status: 'restored', restored, skipped, reindexNeeded: undoMemory !== null };
  } finally {
    // Also removes the old memory tree, moved here by the swap.
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Copy every file the manifest lists into `staging` and check each copy; throws `damaged` on the first mismatch. */
async function stageVerified(dir: string, manifest: BackupManifest, staging: string): Promise<void> {
  for (const file of manifest.files) {
    const dest = join(staging, file.path);
    mkdirSync(dirname(dest), { recursive: true, mode: 0o700 });
    try {
      copyFileSync(join(dir, file.path), dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw damaged(manifest.backupId, `${file.path} is missing`);
      throw err;
    }
    chmodSync(dest, 0o600);
    if (statSync(dest).size !== file.sizeBytes) throw damaged(manifest.backupId, `${file.path} has the wrong size`);
    if ((await sha256File(dest)) !== file.sha256)
      throw damaged(manifest.backupId, `${file.path} does not match its hash`);
  }
}

/**
 * Put `<staging>/memory` in place of `<dataDir>/memory` (the old tree moves
 * to `<staging>/memory.old`, deleted with the staging dir). Answers how to
 * undo it.
 */
function swapMemory(dataDir: string, staging: string): () => void {
  const live = join(dataDir, MEMORY_DIR);
  const incoming = join(staging, MEMORY_DIR);
  const old = join(staging, `${MEMORY_DIR}.old`);
  const hadLive = exists(live);
  if (hadLive) renameSync(live, old);
  try {
    renameSync(incoming, live);
  } catch (err) {
    if (hadLive) renameSync(old, live);
    throw err;
  }
  return () => {
    renameSync(live, incoming);
    if (hadLive) renameSync(old, live);
  };
}

function replaceRecords(dataDir: string, copy: string, live: Records | undefined): void {
  if (live) {
    live.replaceAllFrom(copy);
    return;
  }
  withRecordsStore(dataDir, (records) => records.replaceAllFrom(copy));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

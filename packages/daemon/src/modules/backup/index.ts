import { FabricError } from '@fabric/protocol';
import * as t from './tools.js';
import { callerActor, contextSlot, tool, type DaemonModule, type KernelContext } from '../../kernel/index.js';
import { createBackup, listBackups, restoreBackup } from './backup.js';

export interface BackupModuleOptions {
  /** Rebuild what a restore left stale (the memory index); a failure is recorded with the restore, not thrown. */
  afterRestore?: () => Promise<unknown>;
}

/** Backups of the data dir's records and memory: create and list, and restore (the owner's alone). */
export function backupModule(opts: BackupModuleOptions = {}): DaemonModule {
  const ctx = contextSlot('backup');
  const started = ctx.get;
  return {
    name: 'backup',
    start: ctx.set,
    tools: [
      tool(t.backupCreateTool, async (caller) => {
        const c = started();
        const created = await createBackup({ dataDir: c.dataDir });
        c.audit(callerActor(caller), 'backup.create', { backupId: created.backupId, sizeBytes: created.sizeBytes });
        return created;
      }),
      tool(t.backupListTool, () => ({ backups: listBackups(started().dataDir) })),
      tool(t.backupRestoreTool, (caller, input) => restore(started(), opts, callerActor(caller), input.backupId)),
    ],
  };
}

/**
 * A restore replaces receipts, incidents and memory files. It is the
 * owner's alone (`policy.ts` refuses sessions before this runs); it is
 * logged before and after, and what it left stale is rebuilt.
 */
async function restore(ctx: KernelContext, opts: BackupModuleOptions, actor: string, backupId: string) {
  // A restore that would be refused anyway is refused before it is recorded.
  if (!listBackups(ctx.dataDir).some((b) => b.backupId === backupId))
    throw new FabricError('not_found', `no backup ${backupId}: list them with backup_list`);
  const requested = ctx.audit(actor, 'backup.restore.requested', { backupId });
  let restored;
  try {
    restored = await restoreBackup(ctx.dataDir, backupId, { records: ctx.records });
  } catch (err) {
    ctx.audit(actor, 'backup.restore.failed', {
      backupId,
      requestedSeq: requested.seq,
      message: (err as Error).message,
    });
    throw err;
  }
  // The restore happened: it is recorded even if rebuilding the index fails (the next reindex retries).
  let reindexError: string | null = null;
  if (restored.reindexNeeded && opts.afterRestore) {
    try {
      await opts.afterRestore();
    } catch (err) {
      reindexError = (err as Error).message;
    }
  }
  const done = ctx.audit(actor, 'backup.restore.done', {
    backupId,
    requestedSeq: requested.seq,
    restored: restored.restored,
    reindexError,
  });
  ctx.records.addReceipt(
    { kind: 'backup.restore', summary: `restored ${backupId}`, detail: restored, ledgerSeq: done.seq },
    actor,
  );
  return restored;
}

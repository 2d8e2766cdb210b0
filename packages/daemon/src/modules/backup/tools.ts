import {
  backupCreatedSchema,
  backupListAnswerSchema,
  backupRestoredSchema,
  backupRestoreInputSchema,
} from '@fabric/protocol';
import { spec, emptyInput } from '../../kernel/index.js';

/** The backup module's tools: name, description, input and answer schemas, effect. */

export const backupCreateTool = spec({
  name: 'backup_create',
  title: 'Back up',
  effect: 'write',
  input: emptyInput,
  output: backupCreatedSchema,
  description:
    "A consistent backup of the ledger, receipts, incidents and memory files (never keys or tokens). The device owner's alone: sessions are refused.",
});
export const backupListTool = spec({
  name: 'backup_list',
  title: 'List backups',
  effect: 'read',
  input: emptyInput,
  output: backupListAnswerSchema,
  description: 'The backups on this device, newest first.',
});
export const backupRestoreTool = spec({
  name: 'backup_restore',
  title: 'Restore a backup',
  effect: 'mutate',
  input: backupRestoreInputSchema,
  output: backupRestoredSchema,
  description:
    "Restore receipts, incidents and memory from a backup (checked against its manifest first; the ledger is never rolled back). The device owner's alone: sessions are refused.",
});

/** In the order every surface lists them. */
export const backupTools = [backupCreateTool, backupListTool, backupRestoreTool] as const;

import { z } from 'zod';
import {
  agentCardSchema,
  backupCreatedSchema,
  backupListAnswerSchema,
  backupRestoredSchema,
  backupRestoreInputSchema,
  fileDeleteAnswerSchema,
  fileDeleteInputSchema,
  fileWriteAnswerSchema,
  fileWriteInputSchema,
  incidentCloseInputSchema,
  incidentCreateInputSchema,
  incidentGetInputSchema,
  incidentListAnswerSchema,
  incidentListInputSchema,
  incidentSchema,
  incidentStepInputSchema,
  ledgerEventsAnswerSchema,
  ledgerEventsInputSchema,
  memoryHealthSchema,
  memoryIngestAnswerSchema,
  memoryIngestInputSchema,
  memoryRecallAnswerSchema,
  memoryRecallInputSchema,
  memoryReindexAnswerSchema,
  memoryStoreAnswerSchema,
  memoryStoreInputSchema,
  PROCESSES_MAX_LIMIT,
  processSignalAnswerSchema,
  processSignalInputSchema,
  receiptListAnswerSchema,
  receiptListInputSchema,
  serviceActionAnswerSchema,
  serviceNameSchema,
  systemHealthSchema,
  systemQueryAnswerSchema,
} from '@fabric/protocol';
import type { ToolSpec } from './tools.js';

/**
 * Every agent tool the daemon offers, as data: name, description, input and
 * answer schemas, effect. The socket, the MCP server (a separate process that
 * only forwards) and `optimal agent` all read this one list; handlers are
 * attached by the modules that offer them (`modules/`). Names are snake_case, as MCP clients show them
 * (Claude Code calls them `mcp__fabric__<name>`).
 */

const empty = z.strictObject({});

/**
 * `system_query` as one object (MCP lists inputs as JSON objects): `query`
 * picks the question; `sort`, `limit` and `name` apply to processes, `state`
 * to services. The handler turns it into the protocol's discriminated union.
 */
export const systemQueryToolInput = z.strictObject({
  query: z.enum(['processes', 'services', 'network', 'ports', 'disks', 'users']),
  sort: z.enum(['cpu', 'memory', 'pid']).optional().describe('processes: order by cpu (default), memory or pid'),
  limit: z.number().int().min(1).max(PROCESSES_MAX_LIMIT).optional().describe('processes: how many (default 50)'),
  name: z.string().min(1).max(256).optional().describe('processes: only names containing this (case-insensitive)'),
  state: z.enum(['running', 'failed', 'all']).optional().describe('services: which ones (default all)'),
});

const serviceInput = z.strictObject({ service: serviceNameSchema });

const spec = <I extends z.ZodObject, O extends z.ZodType>(s: ToolSpec<I, O>): ToolSpec<I, O> => s;

export const healthTool = spec({
  name: 'health',
  title: 'Machine health',
  effect: 'read',
  input: empty,
  output: systemHealthSchema,
  description: 'CPU usage, memory, disks, load averages and uptime of this machine.',
});
export const systemQueryTool = spec({
  name: 'system_query',
  title: 'Query the system',
  effect: 'read',
  input: systemQueryToolInput,
  output: systemQueryAnswerSchema,
  description:
    'Structured facts about this machine: processes, services (systemd), network interfaces, listening ports, disks, users.',
});
export const ledgerEventsTool = spec({
  name: 'ledger_events',
  title: 'Read the ledger',
  effect: 'read',
  input: ledgerEventsInputSchema,
  output: ledgerEventsAnswerSchema,
  description:
    'The tamper-evident log of everything done on this device (sessions, approvals, vault access, mutations), newest first; filter by kind or actor. A session sees only the events it caused itself.',
});
export const serviceRestartTool = spec({
  name: 'service_restart',
  title: 'Restart a service',
  effect: 'mutate',
  input: serviceInput,
  output: serviceActionAnswerSchema,
  description: "Restart a systemd service. Destructive: waits for the owner's approval; recorded in the ledger.",
});
export const serviceStopTool = spec({
  name: 'service_stop',
  title: 'Stop a service',
  effect: 'mutate',
  input: serviceInput,
  output: serviceActionAnswerSchema,
  description: "Stop a systemd service. Destructive: waits for the owner's approval; recorded in the ledger.",
});
export const serviceStartTool = spec({
  name: 'service_start',
  title: 'Start a service',
  effect: 'mutate',
  input: serviceInput,
  output: serviceActionAnswerSchema,
  description:
    "Start a systemd service. Waits for the owner's approval (a unit can reboot or isolate the machine); recorded in the ledger.",
});
export const processSignalTool = spec({
  name: 'process_signal',
  title: 'Signal a process',
  effect: 'mutate',
  input: processSignalInputSchema,
  output: processSignalAnswerSchema,
  description:
    "Send TERM, KILL, HUP, INT, QUIT, USR1, USR2, STOP or CONT to a process. Destructive: waits for the owner's approval; recorded in the ledger.",
});
export const fileWriteTool = spec({
  name: 'file_write',
  title: 'Write a file',
  effect: 'mutate',
  input: fileWriteInputSchema,
  output: fileWriteAnswerSchema,
  description:
    "Create or replace a file (absolute path). Replacing a file outside the session's work dir waits for the owner's approval; every write is recorded with its hashes.",
});
export const fileDeleteTool = spec({
  name: 'file_delete',
  title: 'Delete a file',
  effect: 'mutate',
  input: fileDeleteInputSchema,
  output: fileDeleteAnswerSchema,
  description:
    "Delete a file (absolute path). Outside the session's work dir it waits for the owner's approval; recorded with the file's hash.",
});
export const memoryStoreTool = spec({
  name: 'memory_store',
  title: 'Remember',
  effect: 'write',
  input: memoryStoreInputSchema,
  output: memoryStoreAnswerSchema,
  description:
    'Remember something (a summary, optional detail, category, tags); it becomes a markdown file and is indexed for recall.',
});
export const memoryIngestTool = spec({
  name: 'memory_ingest',
  title: 'Ingest a document',
  effect: 'write',
  input: memoryIngestInputSchema,
  output: memoryIngestAnswerSchema,
  description: 'Index a document or event text (a runbook, a log, a session summary) so it can be recalled.',
});
export const memoryRecallTool = spec({
  name: 'memory_recall',
  title: 'Recall',
  effect: 'read',
  input: memoryRecallInputSchema,
  output: memoryRecallAnswerSchema,
  description:
    'The remembered chunks most relevant to a query (words and meaning, fused), within a token budget; optional timeframe like 24h, 7d or FROM..TO.',
});
export const memoryReindexTool = spec({
  name: 'memory_reindex',
  title: 'Rebuild the memory index',
  effect: 'write',
  input: empty,
  output: memoryReindexAnswerSchema,
  description: 'Rebuild the search index from the markdown files (after editing them by hand or restoring a backup).',
});
export const memoryHealthTool = spec({
  name: 'memory_health',
  title: 'Memory status',
  effect: 'read',
  input: empty,
  output: memoryHealthSchema,
  description: 'How many memories and chunks are indexed, and by which embedder.',
});
export const receiptListTool = spec({
  name: 'receipt_list',
  title: 'Receipts',
  effect: 'read',
  input: receiptListInputSchema,
  output: receiptListAnswerSchema,
  description: 'Receipts of what was done through the daemon (mutations, restores), newest first.',
});
export const incidentCreateTool = spec({
  name: 'incident_create',
  title: 'Open an incident',
  effect: 'write',
  input: incidentCreateInputSchema,
  output: incidentSchema,
  description: 'Open an incident workspace to troubleshoot something on the record.',
});
export const incidentStepTool = spec({
  name: 'incident_step',
  title: 'Record an incident step',
  effect: 'write',
  input: incidentStepInputSchema,
  output: incidentSchema,
  description: 'Add a step to an open incident: what was done and what came of it.',
});
export const incidentCloseTool = spec({
  name: 'incident_close',
  title: 'Close an incident',
  effect: 'write',
  input: incidentCloseInputSchema,
  output: incidentSchema,
  description: 'Close an incident with its resolution.',
});
export const incidentGetTool = spec({
  name: 'incident_get',
  title: 'Show an incident',
  effect: 'read',
  input: incidentGetInputSchema,
  output: incidentSchema,
  description: 'One incident with all its steps.',
});
export const incidentListTool = spec({
  name: 'incident_list',
  title: 'List incidents',
  effect: 'read',
  input: incidentListInputSchema,
  output: incidentListAnswerSchema,
  description: 'Incidents, newest first; optionally only open or closed ones.',
});
export const backupCreateTool = spec({
  name: 'backup_create',
  title: 'Back up',
  effect: 'write',
  input: empty,
  output: backupCreatedSchema,
  description:
    "A consistent backup of the ledger, receipts, incidents and memory files (never keys or tokens). The device owner's alone: sessions are refused.",
});
export const backupListTool = spec({
  name: 'backup_list',
  title: 'List backups',
  effect: 'read',
  input: empty,
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
export const agentCardTool = spec({
  name: 'agent_card',
  title: 'Agent card',
  effect: 'read',
  input: empty,
  output: agentCardSchema,
  description: "This device agent's identity card (EIP-8004 style): who it is and which tools and skills it offers.",
});

/** Every tool, in the order the modules compose them (`modules/index.ts`): the order every surface lists them in. */
export const TOOL_CATALOG: readonly ToolSpec[] = [
  healthTool,
  systemQueryTool,
  serviceRestartTool,
  serviceStopTool,
  serviceStartTool,
  processSignalTool,
  fileWriteTool,
  fileDeleteTool,
  ledgerEventsTool,
  memoryStoreTool,
  memoryIngestTool,
  memoryRecallTool,
  memoryReindexTool,
  memoryHealthTool,
  receiptListTool,
  incidentCreateTool,
  incidentStepTool,
  incidentCloseTool,
  incidentGetTool,
  incidentListTool,
  backupCreateTool,
  backupListTool,
  backupRestoreTool,
  agentCardTool,
];

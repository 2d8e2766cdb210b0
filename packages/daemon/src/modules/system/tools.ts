import { z } from 'zod';
import {
  fileDeleteAnswerSchema,
  fileDeleteInputSchema,
  fileWriteAnswerSchema,
  fileWriteInputSchema,
  PROCESSES_MAX_LIMIT,
  processSignalAnswerSchema,
  processSignalInputSchema,
  serviceActionAnswerSchema,
  serviceNameSchema,
  systemHealthSchema,
  systemQueryAnswerSchema,
} from '@fabric/protocol';
import { spec, emptyInput } from '../../kernel/index.js';

/** The system module's tools: name, description, input and answer schemas, effect. */

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
export const healthTool = spec({
  name: 'health',
  title: 'Machine health',
  effect: 'read',
  input: emptyInput,
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

/** In the order every surface lists them. */
export const systemTools = [
  healthTool,
  systemQueryTool,
  serviceRestartTool,
  serviceStopTool,
  serviceStartTool,
  processSignalTool,
  fileWriteTool,
  fileDeleteTool,
] as const;

import { backupTools } from '../modules/backup/tools.js';
import { cardTools } from '../modules/card/tools.js';
import { ledgerTools } from '../modules/ledger/tools.js';
import { memoryTools } from '../modules/memory/tools.js';
import { recordsTools } from '../modules/records/tools.js';
import { systemTools } from '../modules/system/tools.js';
import type { ToolSpec } from './tools.js';

/**
 * Every agent tool the daemon offers, as data: name, description, input and
 * answer schemas, effect. Each module declares its tools beside its handlers
 * (`modules/<name>/tools.ts`); the socket, the MCP server (a separate process
 * that only forwards, so it needs the list without starting the modules) and
 * `optimal agent` all read this one list. Names are snake_case, as MCP
 * clients show them (Claude Code calls them `mcp__fabric__<name>`).
 *
 * In the order the modules compose them (`modules/index.ts`): the order every surface lists them in.
 */
export const TOOL_CATALOG: readonly ToolSpec[] = [
  ...systemTools,
  ...ledgerTools,
  ...memoryTools,
  ...recordsTools,
  ...backupTools,
  ...cardTools,
];

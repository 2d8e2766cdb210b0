// What a module may import from outside its own folder (the lint boundary holds modules to it): the module
// contract, tool declarations, who is calling, and the daemon's shared stores.
export * from './module.js';
export { spec, emptyInput, type ToolSpec, type ToolSummary } from '../agent/tools.js';
export { callerActor, type AgentCaller } from '../agent/protocol.js';
export { ownLedgerQuery, ownSource } from '../agent/policy.js';
export { Records } from '../audit/records/store.js';
export type { ApprovalDecision, ApprovalRequest } from '../sessions/harness/types.js';
export type { SessionContext } from '../sessions/runner.js';
export { openStore, snapshotStore, withRecordsStore, type Sqlite } from './stores.js';

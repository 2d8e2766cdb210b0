// The device agent API: inputs and answers of every tool the daemon offers on
// its Unix socket, through its MCP server and through `optimal agent`.
export * from './system.js';
export * from './memory.js';
export * from './ledger.js';
export * from './records.js';

// The device ledger: an append-only, hash-chained event log in SQLite, the
// device's Ed25519 key that signs its head, the schedule of checkpoints sent
// to the control plane, and the verifier that checks the chain against them.
export * from './chain.js';
export * from './checkpoint.js';
export * from './key.js';
export * from './store.js';
export * from './verify.js';

// Filled in by the agent API work: schemas for the ledger tools.
export {};

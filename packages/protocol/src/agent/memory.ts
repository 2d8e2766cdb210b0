// Filled in by the agent API work: schemas for the memory tools.
export {};

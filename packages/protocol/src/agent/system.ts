// Filled in by the agent API work: schemas for the system tools.
export {};

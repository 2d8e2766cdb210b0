// Filled in by the agent API work: schemas for the records tools.
export {};

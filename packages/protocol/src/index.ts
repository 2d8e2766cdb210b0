export * from './api.js';
export * from './capabilities.js';
export * from './cmdline.js';
export * from './envelope.js';
export * from './errors.js';
export * from './event-status.js';
export * from './events.js';
export * from './frame.js';
export * from './http/index.js';
export * from './ids.js';
export * from './ledger.js';
export * from './ledger-events.js';
export * from './agent/index.js';
export * from './text.js';
export * from './tokens.js';
export * from './vault.js';

export const PROTOCOL_VERSION = '1';
export * from './fixtures.js';

export const VAULT_FORMAT_VERSION = 1;

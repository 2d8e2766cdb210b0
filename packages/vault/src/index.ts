/**
 * The vault's crypto core, and the browser-safe checks of what devices sign:
 * age encryption to a recipient set, identities
 * (random, recovery-phrase, passkey-derived), wrapping, canaries and the
 * signed, versioned recipient set. Runs unchanged in browsers and Node: no
 * Node modules, only Web Crypto (through the libraries) and Uint8Array.
 */
export const VAULT_FORMAT_VERSION = 1;

export { VaultError, isVaultError, type VaultErrorCode } from './errors.js';
export {
  generateIdentity,
  recipientOf,
  isPostQuantum,
  fingerprint,
  identityFromSecret,
  type VaultIdentity,
} from './identity.js';
export { encryptEntry, decryptEntry, rewrap, rewrapAll, type RewrapOptions } from './entries.js';
export {
  newRecoveryPhrase,
  normalizePhrase,
  validatePhrase,
  recoveryIdentity,
  recoverySigner,
  phraseFromEntropy,
  RECOVERY_INFO,
} from './recovery.js';
export {
  wrapWithPassphrase,
  unwrapWithPassphrase,
  passkeyIdentity,
  wrapToRecipient,
  unwrapWithIdentity,
  DEFAULT_WORK_FACTOR,
  PASSKEY_INFO,
} from './wrap.js';
export { CANARY_TEXT, makeCanary, checkCanary } from './canary.js';
export { generateSigner, signerFromSecret, encodeSigner, decodeSigner, type Signer } from './signer.js';
export { canonicalJson } from './canonical.js';
export {
  setHash,
  signersOf,
  nextUnsignedSet,
  signRecipientSet,
  verifyRecipientSet,
  type RecipientKind,
  type RecipientEntry,
  type UnsignedRecipientSet,
  type RecipientSet,
  type TrustedSetState,
} from './recipients.js';
export {
  checkpointSignatureValid,
  checkCheckpointList,
  type CheckpointListVerdict,
  type CheckpointProblem,
} from './checkpoint.js';

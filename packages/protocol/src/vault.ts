import { z } from 'zod';
import { safeLabel } from './text.js';

/**
 * The vault's wire shapes. The control plane stores and serves these without
 * being able to read or forge them: entries are age ciphertext, and the
 * recipient set is signed by an enrolled client's Ed25519 key. The server
 * only checks shape and version order; clients verify signatures and chains.
 */
export const vaultNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'entry names are environment variable names: letters, digits, _');

export const recipientKindSchema = z.enum(['browser', 'device', 'cli', 'recovery']);

export const recipientEntrySchema = z
  .object({
    id: z.string().min(1).max(128),
    kind: recipientKindSchema,
    recipient: z
      .string()
      .regex(/^age1[0-9a-z]+$/, 'not an age recipient')
      .max(4096),
    label: safeLabel(128),
    signer: z.string().max(128).nullable(),
    addedAt: z.number(),
  })
  .strict();

export const recipientSetSchema = z
  .object({
    vaultId: z.string().min(1).max(128),
    version: z.number().int().positive(),
    postQuantum: z.boolean(),
    recipients: z.array(recipientEntrySchema).min(1).max(256),
    previousHash: z.string().max(128).nullable(),
    createdAt: z.number(),
    signedBy: z.string().min(1).max(128),
    signature: z.string().min(1).max(256),
  })
  .strict();
export type RecipientSetWire = z.infer<typeof recipientSetSchema>;

const armoredSchema = z
  .string()
  .min(1)
  .max(1_000_000)
  .refine((s) => s.startsWith('-----BEGIN AGE ENCRYPTED FILE-----'), 'must be an armored age file');

export const putRecipientSetRequestSchema = z.object({ set: recipientSetSchema }).strict();

export const putEntryRequestSchema = z
  .object({
    ciphertext: armoredSchema,
    /** The recipient-set version the client encrypted to; a stale one is refused (409). */
    setVersion: z.number().int().positive(),
    /** The entry version the client last saw (null: creating it); a mismatch is refused (409). */
    baseVersion: z.number().int().nonnegative().nullable().optional(),
    /** The writing client's own recipient id in the current set (its CLI or browser id), recorded with the version. */
    clientId: z.string().min(1).max(128).optional(),
  })
  .strict();

/** Let one more person use an entry (`write`: also overwrite it). Only its creator or an owner may. */
export const shareEntryRequestSchema = z
  .object({
    /** The person's name or user id. */
    user: z.string().min(1).max(128),
    write: z.boolean().default(false),
  })
  .strict();

export const rewrapRequestSchema = z
  .object({
    setVersion: z.number().int().positive(),
    entries: z
      .array(
        z
          .object({ name: vaultNameSchema, ciphertext: armoredSchema, baseVersion: z.number().int().nonnegative() })
          .strict(),
      )
      .max(100_000),
    /** Entries the removed recipient could read: flagged "rotate this credential". */
    rotate: z.array(vaultNameSchema).max(100_000).default([]),
    /**
     * Entries no key of the vault can open (written to other keys, or damaged):
     * deleted with the rewrap, so one such entry cannot hold a revocation up.
     */
    drop: z.array(vaultNameSchema).max(100_000).default([]),
  })
  .strict();

export const clientLogRequestSchema = z
  .object({
    action: z.enum(['entry.read', 'vault.unlock', 'vault.recover', 'vault.enrol']),
    entry: vaultNameSchema.optional(),
  })
  .strict();

export const enrolIdentityRequestSchema = z
  .object({
    id: z.string().min(1).max(128),
    kind: z.enum(['browser', 'cli']),
    label: safeLabel(128),
    /** Armored age blobs; the server cannot open them. */
    wrappedByPassphrase: armoredSchema.nullable(),
    wrappedByPasskey: armoredSchema.nullable().default(null),
    canary: armoredSchema.nullable().default(null),
    prfSalt: z.string().max(128).nullable().default(null),
    credentialId: z.string().max(1024).nullable().default(null),
  })
  .strict();

/** A person as vault views name them: id, name (null if the account is gone) and role. */
export const vaultPersonSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  role: z.enum(['owner', 'member']).nullable(),
});
export type VaultPersonView = z.infer<typeof vaultPersonSchema>;

export const entryViewSchema = z.object({
  name: z.string(),
  version: z.number().int(),
  setVersion: z.number().int(),
  updatedAt: z.number(),
  updatedBy: z.string(),
  needsRotation: z.boolean(),
  /** The entry's first writer; null for an entry older than access lists with no known person. */
  createdBy: vaultPersonSchema.nullable(),
  /** Who wrote the current value, and through which client (a rewrap re-encrypts without changing it). */
  writtenBy: vaultPersonSchema
    .extend({
      client: z.enum(['cli', 'browser']).nullable(),
      clientId: z.string().nullable(),
    })
    .nullable(),
  /** True when the current value was written by someone other than the entry's creator. */
  flagged: z.boolean(),
  /** Why it is flagged, in words: "written by bob (member), not by its creator ada". */
  flagReason: z.string().nullable(),
  /** People besides the creator and the owners who may use it (`write`: and overwrite it). */
  sharedWith: z.array(vaultPersonSchema.extend({ write: z.boolean() })),
});
export type EntryView = z.infer<typeof entryViewSchema>;
export const entryWithCiphertextSchema = entryViewSchema.extend({ ciphertext: z.string() });
export type EntryWithCiphertext = z.infer<typeof entryWithCiphertextSchema>;

export const accessLogViewSchema = z.object({
  id: z.string(),
  ts: z.number(),
  actor: z.string(),
  action: z.string(),
  entry: z.string().nullable(),
  detail: z.string().nullable(),
});
export type AccessLogView = z.infer<typeof accessLogViewSchema>;

/** A credential as the control plane hands it to a device for one session: still ciphertext. */
export const sessionCredentialSchema = z.object({
  name: vaultNameSchema,
  version: z.number().int(),
  ciphertext: z.string().max(1_000_000),
});
export type SessionCredential = z.infer<typeof sessionCredentialSchema>;

import { z } from 'zod';
import { FabricError } from '../errors.js';
import {
  accessLogViewSchema,
  clientLogRequestSchema,
  enrolIdentityRequestSchema,
  entryViewSchema,
  entryWithCiphertextSchema,
  putEntryRequestSchema,
  putRecipientSetRequestSchema,
  recipientSetSchema,
  rewrapRequestSchema,
  shareEntryRequestSchema,
  vaultNameSchema,
  type EntryWithCiphertext,
} from '../vault.js';
import { okResponseSchema } from './common.js';
import { defineRoutes } from './route.js';

/** One entry of `GET /api/vault/entries`: with its ciphertext when the listing asked for it (`?ciphertext=1`). */
export const vaultEntryListItemSchema = entryViewSchema.extend({ ciphertext: z.string().optional() });
export type VaultEntryListItem = z.infer<typeof vaultEntryListItemSchema>;

/** The entries of a `?ciphertext=1` listing, each with its ciphertext; throws `internal` when the server left one out. */
export function entriesWithCiphertext(entries: readonly VaultEntryListItem[]): EntryWithCiphertext[] {
  return entries.map(({ ciphertext, ...view }) => {
    if (ciphertext === undefined) throw new FabricError('internal', `the listing of ${view.name} has no ciphertext`);
    return { ...view, ciphertext };
  });
}

/** Who wrote one stored version of an entry, and through which client. */
export const entryWriteSchema = z.object({
  version: z.number().int(),
  kind: z.enum(['put', 'rewrap']),
  writerId: z.string(),
  client: z.string(),
  clientId: z.string().nullable(),
  at: z.number(),
});
export type EntryWrite = z.infer<typeof entryWriteSchema>;

/** What the server keeps for an enrolled browser or CLI (`GET /api/vault/identities/:id`): wrapped keys it cannot open. */
export const unlockMaterialSchema = z.object({
  id: z.string(),
  kind: z.string(),
  label: z.string(),
  wrappedByPassphrase: z.string().nullable(),
  wrappedByPasskey: z.string().nullable(),
  canary: z.string().nullable(),
  prfSalt: z.string().nullable(),
  credentialId: z.string().nullable(),
});
export type UnlockMaterial = z.infer<typeof unlockMaterialSchema>;

export const vaultSetsQuerySchema = z.object({ after: z.coerce.number<number>().int().min(0).default(0) });
export const vaultLogQuerySchema = z.object({ limit: z.coerce.number<number>().int().min(1).max(1000).default(100) });
export const vaultEntriesQuerySchema = z.object({ ciphertext: z.enum(['0', '1']).default('0') });

const nameParams = { params: z.object({ name: vaultNameSchema }) } as const;
const reads = 'Rate limited per person and address.';
const access = "The entry's access list decides: its creator, the owners, and the people it is shared with.";

/**
 * `/api/vault/*`: ciphertext in, ciphertext out. The server checks shapes
 * and version order only; clients verify signatures and chains.
 */
export const vaultRoutes = defineRoutes({
  getVaultSet: {
    method: 'GET',
    path: '/api/vault/set',
    tag: 'vault',
    summary: 'the current signed recipient set',
    description: reads,
    auth: 'user',
    response: z.object({ set: recipientSetSchema }),
    cloudOnly: true,
  },
  listVaultSets: {
    method: 'GET',
    path: '/api/vault/sets',
    tag: 'vault',
    summary: 'the set versions after `after`, so a client can check every link of the chain it missed',
    description: reads,
    auth: 'user',
    query: vaultSetsQuerySchema,
    response: z.object({ sets: z.array(recipientSetSchema) }),
    cloudOnly: true,
  },
  putVaultSet: {
    method: 'PUT',
    path: '/api/vault/set',
    tag: 'vault',
    summary: 'publish the next recipient set (its version one above the current)',
    auth: 'owner',
    body: putRecipientSetRequestSchema,
    response: z.object({ set: recipientSetSchema }),
    cloudOnly: true,
  },
  listVaultEntries: {
    method: 'GET',
    path: '/api/vault/entries',
    tag: 'vault',
    summary: 'the entries you may use; with `?ciphertext=1` (owners) every entry with its ciphertext',
    description: `${reads} (without ciphertext)`,
    auth: 'user',
    query: vaultEntriesQuerySchema,
    response: z.object({ entries: z.array(vaultEntryListItemSchema) }),
    cloudOnly: true,
  },
  getVaultEntry: {
    method: 'GET',
    path: '/api/vault/entries/:name',
    tag: 'vault',
    summary: 'one entry with its ciphertext',
    description: `${access} ${reads}`,
    auth: 'user',
    ...nameParams,
    response: entryWithCiphertextSchema,
    cloudOnly: true,
  },
  listVaultEntryWrites: {
    method: 'GET',
    path: '/api/vault/entries/:name/writes',
    tag: 'vault',
    summary: 'who wrote each version of an entry, and through which client, newest first',
    description: `${access} ${reads}`,
    auth: 'user',
    ...nameParams,
    response: z.object({ writes: z.array(entryWriteSchema) }),
    cloudOnly: true,
  },
  putVaultEntry: {
    method: 'PUT',
    path: '/api/vault/entries/:name',
    tag: 'vault',
    summary: "create or overwrite an entry, encrypted to the current set's recipients",
    description: `${access} Overwriting needs a write share.`,
    auth: 'user',
    ...nameParams,
    body: putEntryRequestSchema,
    response: entryViewSchema,
    cloudOnly: true,
  },
  deleteVaultEntry: {
    method: 'DELETE',
    path: '/api/vault/entries/:name',
    tag: 'vault',
    summary: 'delete an entry (its creator or an owner)',
    auth: 'user',
    ...nameParams,
    status: 204,
    response: null,
    cloudOnly: true,
  },
  shareVaultEntry: {
    method: 'POST',
    path: '/api/vault/entries/:name/share',
    tag: 'vault',
    summary: 'let one more person use an entry (`write`: also overwrite it)',
    description: 'Only its creator or an owner may.',
    auth: 'user',
    ...nameParams,
    body: shareEntryRequestSchema,
    response: entryViewSchema,
    cloudOnly: true,
  },
  unshareVaultEntry: {
    method: 'DELETE',
    path: '/api/vault/entries/:name/share/:user',
    tag: 'vault',
    summary: 'stop sharing an entry with a person',
    description: 'Only its creator or an owner may.',
    auth: 'user',
    params: z.object({ name: vaultNameSchema, user: z.string().min(1).max(128) }),
    response: entryViewSchema,
    cloudOnly: true,
  },
  rewrapVault: {
    method: 'POST',
    path: '/api/vault/rewrap',
    tag: 'vault',
    summary: 'replace many entries at once after a recipient change, all or nothing',
    auth: 'owner',
    body: rewrapRequestSchema,
    response: z.object({ entries: z.array(entryViewSchema) }),
    cloudOnly: true,
  },
  enrolVaultIdentity: {
    method: 'POST',
    path: '/api/vault/identities',
    tag: 'vault',
    summary: "store a browser's or CLI's wrapped unlock material",
    auth: 'user',
    body: enrolIdentityRequestSchema,
    status: 201,
    response: okResponseSchema,
    cloudOnly: true,
  },
  getVaultIdentity: {
    method: 'GET',
    path: '/api/vault/identities/:id',
    tag: 'vault',
    summary: "an identity's wrapped unlock material, to its creator (or an owner)",
    description: 'Logged, and rate limited per person and address.',
    auth: 'user',
    params: z.object({ id: z.string().min(1).max(128) }),
    response: unlockMaterialSchema,
    cloudOnly: true,
  },
  reportVaultAccess: {
    method: 'POST',
    path: '/api/vault/log',
    tag: 'vault',
    summary: 'report what this client decrypted: the server never sees a read happen',
    auth: 'user',
    body: clientLogRequestSchema,
    status: 201,
    response: okResponseSchema,
    cloudOnly: true,
  },
  readVaultLog: {
    method: 'GET',
    path: '/api/vault/log',
    tag: 'vault',
    summary: 'the vault access log, newest first',
    auth: 'owner',
    query: vaultLogQuerySchema,
    response: z.object({ log: z.array(accessLogViewSchema) }),
    cloudOnly: true,
  },
});

import {
  FabricError, newId, recipientSetSchema,
  type AccessLogView, type EntryView, type EntryWithCiphertext, type RecipientSetWire, type SessionCredential,
} from '@fabric/protocol';
import type { Selectable } from 'kysely';
import type { z } from 'zod';
import type { enrolIdentityRequestSchema, putEntryRequestSchema, rewrapRequestSchema } from '@fabric/protocol';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';
import type { VaultEntriesTable } from '../store/schema.js';

type PutEntry = z.infer<typeof putEntryRequestSchema>;
type Rewrap = z.infer<typeof rewrapRequestSchema>;
type EnrolIdentity = z.infer<typeof enrolIdentityRequestSchema>;

/**
 * Ciphertext storage for the vault, with the one rule the server can enforce
 * without reading anything: writes are made against the current recipient
 * set (a stale `setVersion` gets 409) and against the entry version the
 * client saw. Everything the server sees is recorded in an append-only
 * access log. `actor` is `user:<id>` or `device:<id>`.
 */
export class VaultStore {
  constructor(private readonly db: Db, private readonly clock: Clock) {}

  async currentSet(): Promise<RecipientSetWire | null> {
    const row = await this.db.selectFrom('vault_sets').select('body').orderBy('version', 'desc').limit(1).executeTakeFirst();
    return row ? recipientSetSchema.parse(JSON.parse(row.body)) : null;
  }

  /** Versions after `after`, oldest first, so a client can verify the chain it missed. */
  async setsAfter(after: number): Promise<RecipientSetWire[]> {
    const rows = await this.db.selectFrom('vault_sets').select('body').where('version', '>', after).orderBy('version', 'asc').execute();
    return rows.map((r) => recipientSetSchema.parse(JSON.parse(r.body)));
  }

  async requireSet(): Promise<RecipientSetWire> {
    const set = await this.currentSet();
    if (!set) throw new FabricError('vault_not_initialized', 'the vault is not set up yet; run "optimal vault init"');
    return set;
  }

  /** Store the next recipient set. Only version current+1 of the same vault is accepted. */
  async putSet(set: RecipientSetWire, actor: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('vault_sets').select(['version', 'vault_id']).orderBy('version', 'desc').limit(1).executeTakeFirst();
      const expected = (current?.version ?? 0) + 1;
      if (set.version !== expected) {
        throw new FabricError('conflict', `recipient set version ${set.version} is stale or skips ahead; the next version is ${expected}`);
      }
      if (current && current.vault_id !== set.vaultId) throw new FabricError('conflict', 'this recipient set belongs to another vault');
      await trx.insertInto('vault_sets').values({ version: set.version, vault_id: set.vaultId, body: JSON.stringify(set), created_at: this.clock.now(), created_by: actor }).execute();
      // Unlock material of a client no longer in the set is useless to keep and tempting to steal.
      const ids = set.recipients.map((r) => r.id);
      await trx.deleteFrom('vault_identities').where('id', 'not in', ids).execute();
    });
    await this.log(actor, 'set.updated', null, `version ${set.version}, ${set.recipients.length} recipients, signed by ${set.signedBy.slice(0, 12)}`);
  }

  async listEntries(): Promise<EntryView[]> {
    const rows = await this.db.selectFrom('vault_entries').selectAll().orderBy('name').execute();
    return rows.map(entryView);
  }

  /** Every entry with its ciphertext (for a rewrap), logged once. */
  async listWithCiphertext(actor: string): Promise<EntryWithCiphertext[]> {
    const rows = await this.db.selectFrom('vault_entries').selectAll().orderBy('name').execute();
    await this.log(actor, 'entries.fetched', null, `${rows.length} entries with ciphertext`);
    return rows.map((r) => ({ ...entryView(r), ciphertext: r.ciphertext }));
  }

  async getEntry(name: string, actor: string): Promise<EntryWithCiphertext> {
    const row = await this.db.selectFrom('vault_entries').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new FabricError('credential_not_found', `no vault entry ${name}`);
    await this.log(actor, 'entry.fetched', name, `version ${row.version}`);
    return { ...entryView(row), ciphertext: row.ciphertext };
  }

  async putEntry(name: string, req: PutEntry, actor: string): Promise<EntryView> {
    const view = await this.db.transaction().execute(async (trx) => {
      await this.assertCurrentSet(trx, req.setVersion);
      const existing = await trx.selectFrom('vault_entries').select(['version']).where('name', '=', name).executeTakeFirst();
      if (req.baseVersion !== undefined) {
        const have = existing?.version ?? null;
        const base = req.baseVersion === 0 ? null : req.baseVersion;
        if (have !== base) throw new FabricError('conflict', `entry ${name} changed since you read it (version ${have ?? 'none'}); read it again`);
      }
      const now = this.clock.now();
      const version = (existing?.version ?? 0) + 1;
      const row = { name, ciphertext: req.ciphertext, version, set_version: req.setVersion, updated_at: now, updated_by: actor, needs_rotation: 0 };
      if (existing) await trx.updateTable('vault_entries').set(row).where('name', '=', name).execute();
      else await trx.insertInto('vault_entries').values(row).execute();
      return entryView({ ...row });
    });
    await this.log(actor, 'entry.written', name, `version ${view.version}`);
    return view;
  }

  async deleteEntry(name: string, actor: string): Promise<void> {
    const res = await this.db.deleteFrom('vault_entries').where('name', '=', name).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw new FabricError('credential_not_found', `no vault entry ${name}`);
    await this.log(actor, 'entry.deleted', name, null);
  }

  /** Replace many entries at once (after a recipient change), all or nothing. */
  async rewrap(req: Rewrap, actor: string): Promise<EntryView[]> {
    await this.db.transaction().execute(async (trx) => {
      await this.assertCurrentSet(trx, req.setVersion);
      const rotate = new Set(req.rotate);
      const now = this.clock.now();
      for (const e of req.entries) {
        const res = await trx.updateTable('vault_entries')
          .set({ ciphertext: e.ciphertext, version: e.baseVersion + 1, set_version: req.setVersion, updated_at: now, updated_by: actor, ...(rotate.has(e.name) ? { needs_rotation: 1 } : {}) })
          .where('name', '=', e.name).where('version', '=', e.baseVersion).executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1) throw new FabricError('conflict', `entry ${e.name} changed during the rewrap; run it again`);
      }
      const left = await trx.selectFrom('vault_entries').select('name').where('set_version', '<', req.setVersion).execute();
      if (left.length > 0) throw new FabricError('conflict', `the rewrap left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} on an old recipient set (${left.slice(0, 3).map((l) => l.name).join(', ')})`);
    });
    await this.log(actor, 'vault.rewrapped', null, `${req.entries.length} entries to set version ${req.setVersion}; rotate: ${req.rotate.join(', ') || 'none'}`);
    return this.listEntries();
  }

  /** Ciphertexts for a session, logged as sent to `deviceId`. Throws `credential_not_found` for a missing name. */
  async forSession(names: readonly string[], sessionId: string, deviceId: string): Promise<SessionCredential[]> {
    if (names.length === 0) return [];
    const rows = await this.db.selectFrom('vault_entries').select(['name', 'version', 'ciphertext']).where('name', 'in', [...names]).execute();
    const missing = names.filter((n) => !rows.some((r) => r.name === n));
    if (missing.length > 0) throw new FabricError('credential_not_found', `no vault entr${missing.length === 1 ? 'y' : 'ies'} ${missing.join(', ')}`);
    for (const r of rows) await this.log(`device:${deviceId}`, 'entry.sent', r.name, `version ${r.version} for session ${sessionId}`);
    return rows.map((r) => ({ name: r.name, version: Number(r.version), ciphertext: r.ciphertext }));
  }

  async assertEntriesExist(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const rows = await this.db.selectFrom('vault_entries').select('name').where('name', 'in', [...names]).execute();
    const missing = names.filter((n) => !rows.some((r) => r.name === n));
    if (missing.length > 0) {
      throw new FabricError('credential_not_found', `no vault entr${missing.length === 1 ? 'y' : 'ies'} ${missing.join(', ')}; add with "optimal vault add NAME"`);
    }
  }

  /** Store (or refresh) a client's wrapped unlock material; only its creator may replace it. */
  async enrolIdentity(req: EnrolIdentity, actor: string): Promise<void> {
    const existing = await this.db.selectFrom('vault_identities').select('created_by').where('id', '=', req.id).executeTakeFirst();
    if (existing && existing.created_by !== actor) throw new FabricError('forbidden', `vault identity ${req.id} belongs to someone else`);
    const row = {
      id: req.id, kind: req.kind, label: req.label,
      wrapped_by_passphrase: req.wrappedByPassphrase, wrapped_by_passkey: req.wrappedByPasskey, canary: req.canary,
      prf_salt: req.prfSalt, credential_id: req.credentialId, created_at: this.clock.now(), created_by: actor,
    };
    await this.db.insertInto('vault_identities').values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet({
        label: row.label, wrapped_by_passphrase: row.wrapped_by_passphrase, wrapped_by_passkey: row.wrapped_by_passkey,
        canary: row.canary, prf_salt: row.prf_salt, credential_id: row.credential_id,
      })).execute();
    await this.log(actor, 'identity.enrolled', null, `${req.kind} ${req.id} (${req.label})`);
  }

  /**
   * Wrapped unlock material for one identity, to its creator (or an owner);
   * anyone else could take it away and guess the passphrase offline. Logged.
   */
  async unlockMaterial(id: string, actor: string, isOwner: boolean) {
    const row = await this.db.selectFrom('vault_identities').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new FabricError('not_found', `no enrolled vault identity ${id}`);
    if (row.created_by !== actor && !isOwner) throw new FabricError('forbidden', `vault identity ${id} belongs to someone else`);
    await this.log(actor, 'identity.released', null, `${row.kind} ${row.id}`);
    return {
      id: row.id, kind: row.kind, label: row.label,
      wrappedByPassphrase: row.wrapped_by_passphrase, wrappedByPasskey: row.wrapped_by_passkey,
      canary: row.canary, prfSalt: row.prf_salt, credentialId: row.credential_id,
    };
  }

  async log(actor: string, action: string, entry: string | null, detail: string | null): Promise<void> {
    await this.db.insertInto('vault_access_log').values({ id: newId('vlg'), ts: this.clock.now(), actor, action, entry, detail }).execute();
  }

  async readLog(limit: number): Promise<AccessLogView[]> {
    const rows = await this.db.selectFrom('vault_access_log').selectAll().orderBy('ts', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => ({ id: r.id, ts: Number(r.ts), actor: r.actor, action: r.action, entry: r.entry, detail: r.detail }));
  }

  private async assertCurrentSet(trx: Db, setVersion: number): Promise<void> {
    const current = await trx.selectFrom('vault_sets').select('version').orderBy('version', 'desc').limit(1).executeTakeFirst();
    if (!current) throw new FabricError('vault_not_initialized', 'the vault is not set up yet; run "optimal vault init"');
    if (current.version !== setVersion) {
      throw new FabricError('conflict', `written against recipient set version ${setVersion}, but the current one is ${current.version}; fetch it and encrypt again`);
    }
  }
}

function entryView(r: Selectable<VaultEntriesTable> | Omit<Selectable<VaultEntriesTable>, 'needs_rotation'> & { needs_rotation: number }): EntryView {
  return {
    name: r.name,
    version: Number(r.version),
    setVersion: Number(r.set_version),
    updatedAt: Number(r.updated_at),
    updatedBy: r.updated_by,
    needsRotation: Number(r.needs_rotation) === 1,
  };
}

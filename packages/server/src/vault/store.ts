import {
  FabricError,
  newId,
  recipientSetSchema,
  type AccessLogView,
  type EntryView,
  type EntryWithCiphertext,
  type RecipientSetWire,
  type SessionCredential,
} from '@fabric/protocol';
import type { Selectable } from 'kysely';
import type { z } from 'zod';
import type {
  enrolIdentityRequestSchema,
  putEntryRequestSchema,
  rewrapRequestSchema,
  VaultPersonView,
} from '@fabric/protocol';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';
import type { VaultEntriesTable } from '../store/schema.js';
import { mayOnEntry, type EntryAccess, type VaultAction, type VaultPerson } from './access.js';

type PutEntry = z.infer<typeof putEntryRequestSchema>;
type Rewrap = z.infer<typeof rewrapRequestSchema>;
type EnrolIdentity = z.infer<typeof enrolIdentityRequestSchema>;
type EntryRow = Selectable<VaultEntriesTable>;

/** A signed-in person acting on the vault, and the kind of client they act through. */
export interface VaultCaller extends VaultPerson {
  client: 'cli' | 'browser';
}

const actorOf = (p: VaultPerson) => `user:${p.id}`;

/**
 * Ciphertext storage for the vault, with the one rule the server can enforce
 * without reading anything: writes are made against the current recipient
 * set (a stale `setVersion` gets 409) and against the entry version the
 * client saw. Everything the server sees is recorded in an append-only
 * access log. `actor` is `user:<id>` or `device:<id>`.
 *
 * Each entry also has an access list (`access.ts` decides): its creator and
 * the owners, plus the people it is shared with. Ciphertext goes out, and
 * writes are kept, only for people on it; a member's list shows only the
 * entries they may use. A refusal is `credential_forbidden` and is logged.
 */
export class VaultStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async currentSet(): Promise<RecipientSetWire | null> {
    const row = await this.db
      .selectFrom('vault_sets')
      .select('body')
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? recipientSetSchema.parse(JSON.parse(row.body)) : null;
  }

  /** Versions after `after`, oldest first, so a client can verify the chain it missed. */
  async setsAfter(after: number): Promise<RecipientSetWire[]> {
    const rows = await this.db
      .selectFrom('vault_sets')
      .select('body')
      .where('version', '>', after)
      .orderBy('version', 'asc')
      .execute();
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
      const current = await trx
        .selectFrom('vault_sets')
        .select(['version', 'vault_id'])
        .orderBy('version', 'desc')
        .limit(1)
        .executeTakeFirst();
      const expected = (current?.version ?? 0) + 1;
      if (set.version !== expected) {
        throw new FabricError(
          'conflict',
          `recipient set version ${set.version} is stale or skips ahead; the next version is ${expected}`,
        );
      }
      if (current && current.vault_id !== set.vaultId)
        throw new FabricError('conflict', 'this recipient set belongs to another vault');
      await trx
        .insertInto('vault_sets')
        .values({
          version: set.version,
          vault_id: set.vaultId,
          body: JSON.stringify(set),
          created_at: this.clock.now(),
          created_by: actor,
        })
        .execute();
      // Unlock material of a client no longer in the set is useless to keep and tempting to steal.
      const ids = set.recipients.map((r) => r.id);
      await trx.deleteFrom('vault_identities').where('id', 'not in', ids).execute();
    });
    await this.log(
      actor,
      'set.updated',
      null,
      `version ${set.version}, ${set.recipients.length} recipients, signed by ${set.signedBy.slice(0, 12)}`,
    );
  }

  /** The entries `person` may see (an owner: all), with their writers and access lists. */
  async listEntries(person: VaultPerson): Promise<EntryView[]> {
    const rows = await this.db.selectFrom('vault_entries').selectAll().orderBy('name').execute();
    const views = await this.views(rows);
    return views.filter((v) => mayOnEntry(person, v.access, 'list')).map((v) => v.view);
  }

  /** Every entry with its ciphertext (for a rewrap, by an owner), logged once. */
  async listWithCiphertext(actor: string): Promise<EntryWithCiphertext[]> {
    const rows = await this.db.selectFrom('vault_entries').selectAll().orderBy('name').execute();
    await this.log(actor, 'entries.fetched', null, `${rows.length} entries with ciphertext`);
    const views = await this.views(rows);
    return rows.map((r, i) => ({ ...views[i]!.view, ciphertext: r.ciphertext }));
  }

  /** One entry's ciphertext, for someone on its access list. Throws `credential_not_found` or `credential_forbidden`. */
  async getEntry(name: string, person: VaultPerson): Promise<EntryWithCiphertext> {
    const row = await this.db.selectFrom('vault_entries').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new FabricError('credential_not_found', `no vault entry ${name}`);
    const [v] = await this.views([row]);
    await this.refusalsLogged(person, name, 'read', async () => this.check(person, v!.access, 'read', name));
    await this.log(actorOf(person), 'entry.fetched', name, `version ${row.version}`);
    return { ...v!.view, ciphertext: row.ciphertext };
  }

  /**
   * Create an entry (its writer becomes its creator) or overwrite one the
   * caller may write. Records who wrote the version and through which client.
   */
  async putEntry(name: string, req: PutEntry, caller: VaultCaller): Promise<EntryView> {
    const actor = actorOf(caller);
    await this.refusalsLogged(caller, name, 'write', () =>
      this.db.transaction().execute(async (trx) => {
        const set = await this.assertCurrentSet(trx, req.setVersion);
        if (req.clientId !== undefined && !set.recipients.some((r) => r.id === req.clientId)) {
          throw new FabricError('bad_request', `client ${req.clientId} is not a recipient of the current set`);
        }
        const existing = await trx
          .selectFrom('vault_entries')
          .select(['version', 'creator_id'])
          .where('name', '=', name)
          .executeTakeFirst();
        if (existing)
          this.check(caller, { creatorId: existing.creator_id, grants: await this.grantsOf(trx, name) }, 'write', name);
        if (req.baseVersion !== undefined) {
          const have = existing?.version ?? null;
          const base = req.baseVersion === 0 ? null : req.baseVersion;
          if (have !== base)
            throw new FabricError(
              'conflict',
              `entry ${name} changed since you read it (version ${have ?? 'none'}); read it again`,
            );
        }
        const now = this.clock.now();
        const version = (existing?.version ?? 0) + 1;
        const row = {
          name,
          ciphertext: req.ciphertext,
          version,
          set_version: req.setVersion,
          updated_at: now,
          updated_by: actor,
          needs_rotation: 0,
          writer_id: caller.id,
          writer_client: caller.client,
          writer_client_id: req.clientId ?? null,
        };
        if (existing) await trx.updateTable('vault_entries').set(row).where('name', '=', name).execute();
        else
          await trx
            .insertInto('vault_entries')
            .values({ ...row, creator_id: caller.id })
            .execute();
        await trx
          .insertInto('vault_entry_writes')
          .values({
            id: newId('vwr'),
            name,
            version,
            kind: 'put',
            writer_id: caller.id,
            client: caller.client,
            client_id: req.clientId ?? null,
            written_at: now,
          })
          .execute();
      }),
    );
    const row = (await this.db.selectFrom('vault_entries').selectAll().where('name', '=', name).executeTakeFirst())!;
    const [v] = await this.views([row]);
    await this.log(
      actor,
      'entry.written',
      name,
      `version ${row.version} via ${caller.client}${v!.view.flagged ? `; ${v!.view.flagReason}` : ''}`,
    );
    return v!.view;
  }

  /** Delete an entry and its access list: its creator or an owner only. */
  async deleteEntry(name: string, person: VaultPerson): Promise<void> {
    await this.refusalsLogged(person, name, 'delete', () =>
      this.db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('vault_entries')
          .select(['creator_id'])
          .where('name', '=', name)
          .executeTakeFirst();
        if (!row) throw new FabricError('credential_not_found', `no vault entry ${name}`);
        this.check(person, { creatorId: row.creator_id, grants: await this.grantsOf(trx, name) }, 'delete', name);
        await trx.deleteFrom('vault_entries').where('name', '=', name).execute();
        await trx.deleteFrom('vault_grants').where('name', '=', name).execute();
      }),
    );
    await this.log(actorOf(person), 'entry.deleted', name, null);
  }

  /**
   * Let `user` (a name or id) use the entry, or with `write` overwrite it
   * too; granting again replaces the grant. Only its creator or an owner may.
   */
  async share(name: string, person: VaultPerson, user: string, write: boolean): Promise<EntryView> {
    const target = await this.refusalsLogged(person, name, 'share', () =>
      this.db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('vault_entries')
          .select(['creator_id'])
          .where('name', '=', name)
          .executeTakeFirst();
        if (!row) throw new FabricError('credential_not_found', `no vault entry ${name}`);
        this.check(person, { creatorId: row.creator_id, grants: await this.grantsOf(trx, name) }, 'share', name);
        const found = await trx
          .selectFrom('users')
          .select(['id', 'name'])
          .where((eb) => eb.or([eb('name', '=', user), eb('id', '=', user)]))
          .executeTakeFirst();
        if (!found) throw new FabricError('not_found', `no person ${user}`);
        const values = {
          name,
          user_id: found.id,
          can_write: write ? 1 : 0,
          granted_by: person.id,
          granted_at: this.clock.now(),
        };
        await trx
          .insertInto('vault_grants')
          .values(values)
          .onConflict((oc) =>
            oc.columns(['name', 'user_id']).doUpdateSet({
              can_write: values.can_write,
              granted_by: values.granted_by,
              granted_at: values.granted_at,
            }),
          )
          .execute();
        return found;
      }),
    );
    await this.log(
      actorOf(person),
      'entry.shared',
      name,
      `with ${target.name} (${target.id})${write ? ', may overwrite' : ''}`,
    );
    return this.viewOf(name);
  }

  /** Take `user` off the entry's access list; sessions not yet started lose it too. Creator or owner only. */
  async unshare(name: string, person: VaultPerson, user: string): Promise<EntryView> {
    const target = await this.refusalsLogged(person, name, 'share', () =>
      this.db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('vault_entries')
          .select(['creator_id'])
          .where('name', '=', name)
          .executeTakeFirst();
        if (!row) throw new FabricError('credential_not_found', `no vault entry ${name}`);
        this.check(person, { creatorId: row.creator_id, grants: await this.grantsOf(trx, name) }, 'share', name);
        const found = await trx
          .selectFrom('users')
          .select(['id', 'name'])
          .where((eb) => eb.or([eb('name', '=', user), eb('id', '=', user)]))
          .executeTakeFirst();
        if (!found) throw new FabricError('not_found', `no person ${user}`);
        const res = await trx
          .deleteFrom('vault_grants')
          .where('name', '=', name)
          .where('user_id', '=', found.id)
          .executeTakeFirst();
        if (Number(res.numDeletedRows) === 0)
          throw new FabricError('not_found', `${name} is not shared with ${found.name}`);
        return found;
      }),
    );
    await this.log(actorOf(person), 'entry.unshared', name, `with ${target.name} (${target.id})`);
    return this.viewOf(name);
  }

  /** Who wrote each stored version of an entry, newest first (for the person who may see it). */
  async writes(name: string, person: VaultPerson) {
    await this.getAccess(name, person, 'list');
    const rows = await this.db
      .selectFrom('vault_entry_writes')
      .selectAll()
      .where('name', '=', name)
      .orderBy('written_at', 'desc')
      .orderBy('version', 'desc')
      .execute();
    return rows.map((r) => ({
      version: Number(r.version),
      kind: r.kind,
      writerId: r.writer_id,
      client: r.client,
      clientId: r.client_id,
      at: Number(r.written_at),
    }));
  }

  /** Replace many entries at once (after a recipient change), all or nothing. */
  async rewrap(req: Rewrap, caller: VaultCaller): Promise<EntryView[]> {
    const actor = actorOf(caller);
    await this.db.transaction().execute(async (trx) => {
      await this.assertCurrentSet(trx, req.setVersion);
      const rotate = new Set(req.rotate);
      const now = this.clock.now();
      for (const e of req.entries) {
        // The writer of the value stays: a rewrap re-encrypts what is there, and is recorded as such.
        const res = await trx
          .updateTable('vault_entries')
          .set({
            ciphertext: e.ciphertext,
            version: e.baseVersion + 1,
            set_version: req.setVersion,
            updated_at: now,
            updated_by: actor,
            ...(rotate.has(e.name) ? { needs_rotation: 1 } : {}),
          })
          .where('name', '=', e.name)
          .where('version', '=', e.baseVersion)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1)
          throw new FabricError('conflict', `entry ${e.name} changed during the rewrap; run it again`);
        await trx
          .insertInto('vault_entry_writes')
          .values({
            id: newId('vwr'),
            name: e.name,
            version: e.baseVersion + 1,
            kind: 'rewrap',
            writer_id: caller.id,
            client: caller.client,
            client_id: null,
            written_at: now,
          })
          .execute();
      }
      for (const name of req.drop) {
        if (req.entries.some((e) => e.name === name))
          throw new FabricError('bad_request', `entry ${name} cannot be both rewrapped and dropped`);
        await trx.deleteFrom('vault_entries').where('name', '=', name).execute();
        await trx.deleteFrom('vault_grants').where('name', '=', name).execute();
      }
      const left = await trx
        .selectFrom('vault_entries')
        .select('name')
        .where('set_version', '<', req.setVersion)
        .execute();
      if (left.length > 0)
        throw new FabricError(
          'conflict',
          `the rewrap left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} on an old recipient set (${left
            .slice(0, 3)
            .map((l) => l.name)
            .join(', ')})`,
        );
    });
    await this.log(
      actor,
      'vault.rewrapped',
      null,
      `${req.entries.length} entries to set version ${req.setVersion}; rotate: ${req.rotate.join(', ') || 'none'}`,
    );
    for (const name of req.drop)
      await this.log(actor, 'entry.deleted', name, 'no key of the vault could open it; dropped by the rewrap');
    return this.listEntries(caller);
  }

  /**
   * Ciphertexts for a session, logged as sent to `deviceId`, checked again
   * against the access list for the session's requester (an unshare since
   * the session was created refuses it). Throws `credential_not_found` for a
   * missing name and `credential_forbidden` for one its requester may not use.
   */
  async forSession(names: readonly string[], sessionId: string, deviceId: string): Promise<SessionCredential[]> {
    if (names.length === 0) return [];
    const session = await this.db
      .selectFrom('sessions')
      .select('created_by')
      .where('id', '=', sessionId)
      .executeTakeFirst();
    if (!session) throw new FabricError('session_not_found', `no session ${sessionId}`);
    await this.assertMayUse(names, session.created_by, sessionId);
    const rows = await this.db
      .selectFrom('vault_entries')
      .select(['name', 'version', 'ciphertext'])
      .where('name', 'in', [...names])
      .execute();
    const missing = names.filter((n) => !rows.some((r) => r.name === n));
    if (missing.length > 0)
      throw new FabricError(
        'credential_not_found',
        `no vault entr${missing.length === 1 ? 'y' : 'ies'} ${missing.join(', ')}`,
      );
    for (const r of rows)
      await this.log(`device:${deviceId}`, 'entry.sent', r.name, `version ${r.version} for session ${sessionId}`);
    return rows.map((r) => ({ name: r.name, version: Number(r.version), ciphertext: r.ciphertext }));
  }

  async assertEntriesExist(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const rows = await this.db
      .selectFrom('vault_entries')
      .select('name')
      .where('name', 'in', [...names])
      .execute();
    const missing = names.filter((n) => !rows.some((r) => r.name === n));
    if (missing.length > 0) {
      throw new FabricError(
        'credential_not_found',
        `no vault entr${missing.length === 1 ? 'y' : 'ies'} ${missing.join(', ')}; add with "optimal vault add NAME"`,
      );
    }
  }

  /**
   * Every name exists and `userId` may use each in a session. Throws
   * `credential_not_found` or `credential_forbidden` (logged, naming the
   * session when there is one yet).
   */
  async assertMayUse(names: readonly string[], userId: string, sessionId?: string): Promise<void> {
    if (names.length === 0) return;
    await this.assertEntriesExist(names);
    const user = await this.db.selectFrom('users').select(['id', 'role']).where('id', '=', userId).executeTakeFirst();
    const person: VaultPerson = { id: userId, role: user?.role ?? 'member' };
    const rows = await this.db
      .selectFrom('vault_entries')
      .select(['name', 'creator_id'])
      .where('name', 'in', [...names])
      .execute();
    const grants = await this.db
      .selectFrom('vault_grants')
      .select(['name', 'user_id', 'can_write'])
      .where('name', 'in', [...names])
      .execute();
    const refused = rows
      .filter(
        (r) =>
          !user ||
          !mayOnEntry(
            person,
            {
              creatorId: r.creator_id,
              grants: grants
                .filter((g) => g.name === r.name)
                .map((g) => ({ userId: g.user_id, write: Number(g.can_write) === 1 })),
            },
            'use',
          ),
      )
      .map((r) => r.name)
      .sort();
    if (refused.length === 0) return;
    for (const name of refused)
      await this.log(
        `user:${userId}`,
        'entry.refused',
        name,
        sessionId ? `use in session ${sessionId}` : 'use in a session',
      );
    throw new FabricError(
      'credential_forbidden',
      `you may not use vault entr${refused.length === 1 ? 'y' : 'ies'} ${refused.join(', ')}; ask its creator or an owner to run "optimal vault share NAME --with YOU"`,
    );
  }

  /** Store (or refresh) a client's wrapped unlock material; only its creator may replace it. */
  async enrolIdentity(req: EnrolIdentity, actor: string): Promise<void> {
    const existing = await this.db
      .selectFrom('vault_identities')
      .select('created_by')
      .where('id', '=', req.id)
      .executeTakeFirst();
    if (existing && existing.created_by !== actor)
      throw new FabricError('forbidden', `vault identity ${req.id} belongs to someone else`);
    const row = {
      id: req.id,
      kind: req.kind,
      label: req.label,
      wrapped_by_passphrase: req.wrappedByPassphrase,
      wrapped_by_passkey: req.wrappedByPasskey,
      canary: req.canary,
      prf_salt: req.prfSalt,
      credential_id: req.credentialId,
      created_at: this.clock.now(),
      created_by: actor,
    };
    await this.db
      .insertInto('vault_identities')
      .values(row)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          label: row.label,
          wrapped_by_passphrase: row.wrapped_by_passphrase,
          wrapped_by_passkey: row.wrapped_by_passkey,
          canary: row.canary,
          prf_salt: row.prf_salt,
          credential_id: row.credential_id,
        }),
      )
      .execute();
    await this.log(actor, 'identity.enrolled', null, `${req.kind} ${req.id} (${req.label})`);
  }

  /**
   * Wrapped unlock material for one identity, to its creator (or an owner);
   * anyone else could take it away and guess the passphrase offline. Logged.
   */
  async unlockMaterial(id: string, actor: string, isOwner: boolean) {
    const row = await this.db.selectFrom('vault_identities').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new FabricError('not_found', `no enrolled vault identity ${id}`);
    if (row.created_by !== actor && !isOwner)
      throw new FabricError('forbidden', `vault identity ${id} belongs to someone else`);
    await this.log(actor, 'identity.released', null, `${row.kind} ${row.id}`);
    return {
      id: row.id,
      kind: row.kind,
      label: row.label,
      wrappedByPassphrase: row.wrapped_by_passphrase,
      wrappedByPasskey: row.wrapped_by_passkey,
      canary: row.canary,
      prfSalt: row.prf_salt,
      credentialId: row.credential_id,
    };
  }

  async log(actor: string, action: string, entry: string | null, detail: string | null): Promise<void> {
    await this.db
      .insertInto('vault_access_log')
      .values({ id: newId('vlg'), ts: this.clock.now(), actor, action, entry, detail })
      .execute();
  }

  async readLog(limit: number): Promise<AccessLogView[]> {
    const rows = await this.db
      .selectFrom('vault_access_log')
      .selectAll()
      .orderBy('ts', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      ts: Number(r.ts),
      actor: r.actor,
      action: r.action,
      entry: r.entry,
      detail: r.detail,
    }));
  }

  private async assertCurrentSet(trx: Db, setVersion: number): Promise<RecipientSetWire> {
    const current = await trx
      .selectFrom('vault_sets')
      .select(['version', 'body'])
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!current)
      throw new FabricError('vault_not_initialized', 'the vault is not set up yet; run "optimal vault init"');
    if (current.version !== setVersion) {
      throw new FabricError(
        'conflict',
        `written against recipient set version ${setVersion}, but the current one is ${current.version}; fetch it and encrypt again`,
      );
    }
    return recipientSetSchema.parse(JSON.parse(current.body));
  }

  /** Throws `credential_forbidden` unless `person` may do `action` on the entry (no I/O: safe inside a transaction). */
  private check(person: VaultPerson, access: EntryAccess, action: VaultAction, name: string): void {
    if (mayOnEntry(person, access, action)) return;
    const what: Record<VaultAction, string> = {
      list: 'see',
      read: 'read',
      use: 'use',
      write: 'overwrite',
      delete: 'delete',
      share: 'change who may use',
    };
    const hint =
      action === 'write'
        ? '; only its creator, an owner or someone it is shared with for writing may'
        : action === 'delete' || action === 'share'
          ? '; only its creator or an owner may'
          : '; ask its creator or an owner to share it with you';
    throw new FabricError('credential_forbidden', `you may not ${what[action]} vault entry ${name}${hint}`);
  }

  /** Run `work`; a `credential_forbidden` it throws is logged (after any transaction in it has ended) and rethrown. */
  private async refusalsLogged<T>(
    person: VaultPerson,
    name: string,
    action: VaultAction,
    work: () => Promise<T>,
  ): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof FabricError && err.code === 'credential_forbidden')
        await this.log(actorOf(person), 'entry.refused', name, action);
      throw err;
    }
  }

  private async getAccess(name: string, person: VaultPerson, action: VaultAction): Promise<void> {
    const row = await this.db
      .selectFrom('vault_entries')
      .select(['creator_id'])
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) throw new FabricError('credential_not_found', `no vault entry ${name}`);
    const grants = await this.grantsOf(this.db, name);
    await this.refusalsLogged(person, name, action, async () =>
      this.check(person, { creatorId: row.creator_id, grants }, action, name),
    );
  }

  private async grantsOf(db: Db, name: string): Promise<EntryAccess['grants']> {
    const rows = await db
      .selectFrom('vault_grants')
      .select(['user_id', 'can_write'])
      .where('name', '=', name)
      .execute();
    return rows.map((g) => ({ userId: g.user_id, write: Number(g.can_write) === 1 }));
  }

  private async viewOf(name: string): Promise<EntryView> {
    const row = await this.db.selectFrom('vault_entries').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new FabricError('credential_not_found', `no vault entry ${name}`);
    return (await this.views([row]))[0]!.view;
  }

  /** Views (with people named) and access facts for rows, in the same order. */
  private async views(rows: EntryRow[]): Promise<{ view: EntryView; access: EntryAccess }[]> {
    if (rows.length === 0) return [];
    const names = rows.map((r) => r.name);
    const grants = await this.db
      .selectFrom('vault_grants')
      .select(['name', 'user_id', 'can_write'])
      .where('name', 'in', names)
      .orderBy('granted_at')
      .execute();
    const ids = new Set<string>();
    for (const r of rows) {
      if (r.creator_id) ids.add(r.creator_id);
      if (r.writer_id) ids.add(r.writer_id);
    }
    for (const g of grants) ids.add(g.user_id);
    const users =
      ids.size === 0
        ? []
        : await this.db
            .selectFrom('users')
            .select(['id', 'name', 'role'])
            .where('id', 'in', [...ids])
            .execute();
    const who = (id: string): VaultPersonView => {
      const u = users.find((x) => x.id === id);
      return { id, name: u?.name ?? null, role: u?.role ?? null };
    };
    return rows.map((r) => {
      const mine = grants.filter((g) => g.name === r.name);
      const access: EntryAccess = {
        creatorId: r.creator_id,
        grants: mine.map((g) => ({ userId: g.user_id, write: Number(g.can_write) === 1 })),
      };
      const createdBy = r.creator_id ? who(r.creator_id) : null;
      const writer = r.writer_id ? who(r.writer_id) : null;
      const flagged = writer !== null && createdBy !== null && writer.id !== createdBy.id;
      const label = (p: VaultPersonView) => `${p.name ?? p.id}${p.role ? ` (${p.role})` : ''}`;
      return {
        access,
        view: {
          ...entryView(r),
          createdBy,
          writtenBy: writer ? { ...writer, client: clientKind(r.writer_client), clientId: r.writer_client_id } : null,
          flagged,
          flagReason: flagged
            ? `written by ${label(writer)}, not by its creator ${createdBy.name ?? createdBy.id}`
            : null,
          sharedWith: mine.map((g) => ({ ...who(g.user_id), write: Number(g.can_write) === 1 })),
        },
      };
    });
  }
}

function clientKind(c: string | null): 'cli' | 'browser' | null {
  return c === 'cli' || c === 'browser' ? c : null;
}

function entryView(r: EntryRow): Omit<EntryView, 'createdBy' | 'writtenBy' | 'flagged' | 'flagReason' | 'sharedWith'> {
  return {
    name: r.name,
    version: Number(r.version),
    setVersion: Number(r.set_version),
    updatedAt: Number(r.updated_at),
    updatedBy: r.updated_by,
    needsRotation: Number(r.needs_rotation) === 1,
  };
}

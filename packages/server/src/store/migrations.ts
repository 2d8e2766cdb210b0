import { PostgresAdapter, sql, SqliteAdapter, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/**
 * Schema migrations, in order. Only portable column types (text, integer,
 * bigint) and plain indexes, so the same list runs on SQLite and PostgreSQL.
 * Never edit a shipped migration: add a new one.
 */
const migrations: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('used_by', 'text')
        .execute();

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .execute();

      await db.schema
        .createTable('pairing_tokens')
        .addColumn('jti', 'text', (c) => c.primaryKey())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('device_id', 'text')
        .execute();

      await db.schema
        .createTable('devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint')
        .addColumn('online', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('revoked_at', 'bigint')
        .addColumn('capabilities', 'text')
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('harness', 'text', (c) => c.notNull())
        .addColumn('prompt', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text')
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('cwd', 'text')
        .addColumn('exit_code', 'integer')
        .addColumn('signal', 'text')
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('ended_at', 'bigint')
        .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('cancel_requested_at', 'bigint')
        .execute();
      await db.schema.createIndex('sessions_created_at').on('sessions').column('created_at').execute();
      await db.schema.createIndex('sessions_device_status').on('sessions').columns(['device_id', 'status']).execute();

      await db.schema
        .createTable('session_events')
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('data', 'text')
        .addColumn('meta', 'text')
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('session_events_pk', ['session_id', 'seq'])
        .execute();
    },
  },
  '0002_routing_approvals_fuel': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('devices')
        .addColumn('draining', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('devices')
        .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();

      for (const [name, type] of [
        ['permission_mode', 'text'],
        ['model', 'text'],
        ['harness_session_id', 'text'],
        ['parent_id', 'text'],
        ['placement', 'text'],
        ['queued_until', 'bigint'],
        ['tried_devices', 'text'],
      ] as const) {
        await db.schema.alterTable('sessions').addColumn(name, type).execute();
      }
      await db.schema.createIndex('sessions_status').on('sessions').column('status').execute();

      await db.schema
        .createTable('approvals')
        .addColumn('request_id', 'text', (c) => c.primaryKey())
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('tool', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('decided_at', 'bigint')
        .addColumn('decided_by', 'text')
        .execute();
      await db.schema.createIndex('approvals_session').on('approvals').column('session_id').execute();

      await db.schema
        .createTable('usage')
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text')
        .addColumn('harness', 'text', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('input', 'bigint', (c) => c.notNull())
        .addColumn('output', 'bigint', (c) => c.notNull())
        .addColumn('cached', 'bigint', (c) => c.notNull())
        .addColumn('cost_usd', 'real')
        .execute();
      await db.schema.createIndex('usage_ts').on('usage').column('ts').execute();
    },
  },
  '0003_vault': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('devices').addColumn('vault_recipient', 'text').execute();
      await db.schema.alterTable('sessions').addColumn('credentials', 'text').execute();

      await db.schema
        .createTable('vault_sets')
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('vault_entries')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('ciphertext', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('set_version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('needs_rotation', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema
        .createTable('vault_identities')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('wrapped_by_passphrase', 'text')
        .addColumn('wrapped_by_passkey', 'text')
        .addColumn('canary', 'text')
        .addColumn('prf_salt', 'text')
        .addColumn('credential_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('vault_access_log')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('entry', 'text')
        .addColumn('detail', 'text')
        .execute();
      await db.schema.createIndex('vault_access_log_ts').on('vault_access_log').columns(['ts', 'id']).execute();
      // Append-only: the store itself refuses to change history. (PostgreSQL's triggers: 0011.)
      if (db.getExecutor().adapter instanceof SqliteAdapter) {
        await sql`CREATE TRIGGER vault_access_log_no_update BEFORE UPDATE ON vault_access_log BEGIN SELECT RAISE(ABORT, 'vault_access_log is append-only'); END`.execute(
          db,
        );
        await sql`CREATE TRIGGER vault_access_log_no_delete BEFORE DELETE ON vault_access_log BEGIN SELECT RAISE(ABORT, 'vault_access_log is append-only'); END`.execute(
          db,
        );
      }
    },
  },
  '0004_board': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('board_cards')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('prompt', 'text', (c) => c.notNull())
        .addColumn('harness', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text')
        .addColumn('permission_mode', 'text', (c) => c.notNull())
        .addColumn('credentials', 'text', (c) => c.notNull())
        .addColumn('column_name', 'text', (c) => c.notNull())
        .addColumn('position', 'real', (c) => c.notNull())
        .addColumn('session_id', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('board_cards_session').on('board_cards').column('session_id').execute();
    },
  },
  '0005_passkeys_push': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('passkeys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('counter', 'bigint', (c) => c.notNull())
        .addColumn('transports', 'text', (c) => c.notNull())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('device_type', 'text', (c) => c.notNull())
        .addColumn('backed_up', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .execute();
      await db.schema.createIndex('passkeys_user').on('passkeys').column('user_id').execute();

      await db.schema
        .createTable('webauthn_challenges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('challenge', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('rp_id', 'text', (c) => c.notNull())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('webauthn_challenges_expires')
        .on('webauthn_challenges')
        .column('expires_at')
        .execute();

      await db.schema
        .createTable('push_vapid')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('private_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('push_subscriptions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('endpoint', 'text', (c) => c.notNull().unique())
        .addColumn('p256dh', 'text', (c) => c.notNull())
        .addColumn('auth', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_sent_at', 'bigint')
        .execute();
      await db.schema.createIndex('push_subscriptions_user').on('push_subscriptions').column('user_id').execute();

      await db.schema
        .createTable('push_sent')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('sent_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('push_sent_at').on('push_sent').column('sent_at').execute();
    },
  },
  '0006_ledger_anchor': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('ledger_anchors')
        .addColumn('device_id', 'text', (c) => c.primaryKey())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('pinned_at', 'bigint', (c) => c.notNull())
        .addColumn('max_seq', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('ledger_checkpoints')
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('head', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('ledger_checkpoints_pk', ['device_id', 'seq'])
        .execute();
    },
  },
  '0008_vault_access': {
    async up(db: Kysely<unknown>) {
      // Who made each entry (its first writer), who wrote its current version and through which client.
      await db.schema.alterTable('vault_entries').addColumn('creator_id', 'text').execute();
      await db.schema.alterTable('vault_entries').addColumn('writer_id', 'text').execute();
      await db.schema.alterTable('vault_entries').addColumn('writer_client', 'text').execute();
      await db.schema.alterTable('vault_entries').addColumn('writer_client_id', 'text').execute();
      // Entries from before access lists: their last writer is the best guess at their creator.
      await sql`UPDATE vault_entries SET creator_id = substr(updated_by, 6), writer_id = substr(updated_by, 6) WHERE updated_by LIKE 'user:%'`.execute(
        db,
      );

      await db.schema
        .createTable('vault_grants')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('can_write', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('granted_by', 'text', (c) => c.notNull())
        .addColumn('granted_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('vault_grants_pk', ['name', 'user_id'])
        .execute();

      await db.schema
        .createTable('vault_entry_writes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('writer_id', 'text', (c) => c.notNull())
        .addColumn('client', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text')
        .addColumn('written_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('vault_entry_writes_name')
        .on('vault_entry_writes')
        .columns(['name', 'written_at'])
        .execute();
    },
  },
  '0007_device_shares': {
    async up(db: Kysely<unknown>) {
      // Who besides its pairer may see and use a device (shared by an owner).
      await db.schema
        .createTable('device_shares')
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('device_shares_pk', ['device_id', 'user_id'])
        .execute();
      await db.schema.createIndex('device_shares_user').on('device_shares').column('user_id').execute();
      await db.schema.createIndex('sessions_created_by').on('sessions').columns(['created_by', 'created_at']).execute();
    },
  },
  '0010_idempotency': {
    async up(db: Kysely<unknown>) {
      // One row per (person, key): the primary key makes concurrent duplicates collide instead of creating twice.
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('body_hash', 'text', (c) => c.notNull())
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['user_id', 'key'])
        .execute();
      await db.schema.createIndex('idempotency_keys_created').on('idempotency_keys').column('created_at').execute();
    },
  },
  '0011_postgres_append_only': {
    async up(db: Kysely<unknown>) {
      // 0003's append-only triggers, in PostgreSQL's dialect (SQLite has had them since 0003).
      if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
      await sql`CREATE FUNCTION vault_access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'vault_access_log is append-only'; END $$`.execute(db);
      await sql`CREATE TRIGGER vault_access_log_no_change BEFORE UPDATE OR DELETE ON vault_access_log
        FOR EACH ROW EXECUTE FUNCTION vault_access_log_append_only()`.execute(db);
    },
  },
};

const delivery: Record<string, Migration> = {
  '0009_delivery': {
    async up(db: Kysely<unknown>) {
      // The highest device sequence number stored for a session (exactly-once from an at-least-once device),
      // and until when a lost session waits for its device before it fails.
      await db.schema
        .alterTable('sessions')
        .addColumn('device_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('sessions').addColumn('lost_until', 'bigint').execute();
    },
  },
};

/** Kysely runs them in name order, whatever order the objects list them in. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations, ...delivery }),
};

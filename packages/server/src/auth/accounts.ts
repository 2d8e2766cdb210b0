import { randomBytes } from 'node:crypto';
import {
  FabricError,
  newId,
  type AuthResponse,
  type CodeResponse,
  type PairResponse,
  type Role,
} from '@fabric/protocol';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';
import { assertDeviceNameFree } from '../store/devices.js';
import { hashCode, hashPassword, newCode, verifyPassword } from './secrets.js';
import type { Tokens } from './tokens.js';

const SETUP_CODE_MS = 60 * 60 * 1000;

let dummy: Promise<string> | null = null;
/** A hash of a random password with the current KDF parameters, made once per process: what unknown names are checked against. */
function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(32).toString('base64url'));
  return dummy;
}
const INVITE_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * People and devices: the first owner's setup code, member invites, password
 * login, and device pairing. Codes and pairing tokens are single-use; only
 * their hashes (codes) or ids (pairing tokens) are stored.
 */
export class Accounts {
  constructor(
    private readonly db: Db,
    private readonly tokens: Tokens,
    private readonly clock: Clock,
  ) {}

  /** True once some account can sign in with a password. */
  async hasPasswordAccount(): Promise<boolean> {
    const row = await this.db
      .selectFrom('users')
      .select('id')
      .where('password_hash', 'is not', null)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The owner account, creating a passwordless one named `name` if there is none (used by `optimal up`). */
  async ensureOwner(name = 'owner'): Promise<{ id: string; name: string }> {
    const owner = await this.db
      .selectFrom('users')
      .select(['id', 'name'])
      .where('role', '=', 'owner')
      .orderBy('created_at')
      .executeTakeFirst();
    if (owner) return owner;
    const id = newId('usr');
    await this.db
      .insertInto('users')
      .values({ id, name, role: 'owner', password_hash: null, created_at: this.clock.now() })
      .execute();
    return { id, name };
  }

  /**
   * A one-hour code that makes (or completes) the owner account. Refused once
   * an account with a password exists: from then on, owners invite.
   */
  async createSetupCode(): Promise<CodeResponse> {
    if (await this.hasPasswordAccount()) {
      throw new FabricError(
        'setup_done',
        'the owner is already set up; sign in and use "optimal invite" to invite people',
      );
    }
    return this.storeCode('setup', 'owner', null, SETUP_CODE_MS);
  }

  /** A seven-day invite for a new account with `role`, made by an owner. */
  async createInvite(byUserId: string, role: Role): Promise<CodeResponse> {
    return this.storeCode('invite', role, byUserId, INVITE_MS);
  }

  /** Redeem a setup code or invite: creates the account (or sets the passwordless owner's name and password) and signs it in. */
  async redeem(code: string, name: string, password: string, client: 'browser' | 'cli'): Promise<AuthResponse> {
    const now = this.clock.now();
    const hash = hashCode(code);
    const row = await this.db.selectFrom('codes').selectAll().where('code_hash', '=', hash).executeTakeFirst();
    if (row?.used_at !== null || Number(row.expires_at) < now) {
      throw new FabricError('invite_invalid', 'this code is unknown, used or expired; ask for a new one');
    }
    const passwordHash = await hashPassword(password);
    const user = await this.db.transaction().execute(async (trx) => {
      const claimed = await trx
        .updateTable('codes')
        .set({ used_at: now })
        .where('code_hash', '=', hash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) throw new FabricError('invite_invalid', 'this code was already used');
      const taken = await trx
        .selectFrom('users')
        .select(['id', 'password_hash', 'role'])
        .where('name', '=', name)
        .executeTakeFirst();
      const passwordlessOwner =
        row.kind === 'setup'
          ? await trx
              .selectFrom('users')
              .select(['id'])
              .where('role', '=', 'owner')
              .where('password_hash', 'is', null)
              .executeTakeFirst()
          : undefined;
      if (taken && taken.id !== passwordlessOwner?.id)
        throw new FabricError('conflict', `the name ${name} is taken; choose another`);
      let id: string;
      if (passwordlessOwner) {
        id = passwordlessOwner.id;
        await trx.updateTable('users').set({ name, password_hash: passwordHash }).where('id', '=', id).execute();
      } else {
        id = newId('usr');
        await trx
          .insertInto('users')
          .values({ id, name, role: row.role, password_hash: passwordHash, created_at: now })
          .execute();
      }
      await trx.updateTable('codes').set({ used_by: id }).where('code_hash', '=', hash).execute();
      return { id, name, role: row.role };
    });
    return this.signIn(user, client);
  }

  /**
   * Password sign-in. The same error, after the same work, for an unknown
   * name, an account without a password and a wrong password: every attempt
   * runs one scrypt verification (against a dummy hash when there is no real
   * one), so timing does not tell which names exist.
   */
  async login(name: string, password: string, client: 'browser' | 'cli'): Promise<AuthResponse> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    const stored = row?.password_hash ?? null;
    const matches = await verifyPassword(password, stored ?? (await dummyHash()));
    const ok = stored !== null && matches;
    if (!row || !ok) throw new FabricError('login_failed', 'wrong name or password');
    return this.signIn({ id: row.id, name: row.name, role: row.role }, client);
  }

  /** A token for an existing user, e.g. the owner CLI credentials `optimal up` writes. */
  async signIn(user: { id: string; name: string; role: Role }, client: 'browser' | 'cli'): Promise<AuthResponse> {
    const { token, expiresAt } = await this.tokens.sign(client, { sub: user.id, role: user.role, name: user.name });
    return { token, expiresAt, user };
  }

  /** A ten-minute, single-use pairing token for a new device in `userId`'s fleet. */
  async createPairingToken(userId: string): Promise<CodeResponse> {
    const { token, expiresAt, jti } = await this.tokens.sign('pairing', { sub: userId });
    await this.db
      .insertInto('pairing_tokens')
      .values({
        jti,
        created_by: userId,
        created_at: this.clock.now(),
        expires_at: expiresAt,
        used_at: null,
        device_id: null,
      })
      .execute();
    return { code: token, kind: 'pairing', expiresAt };
  }

  /** Consume a pairing token and register a device; returns its 30-day device token. */
  async pair(pairingToken: string, name: string, vaultRecipient: string | null = null): Promise<PairResponse> {
    let claims;
    try {
      claims = await this.tokens.verify(pairingToken, ['pairing']);
    } catch (err) {
      const expired = err instanceof FabricError && err.code === 'token_expired';
      throw new FabricError(
        'pairing_token_invalid',
        expired ? 'pairing token expired; make a new one with "optimal pair"' : 'pairing token is not valid',
      );
    }
    const deviceId = newId('dev');
    const now = this.clock.now();
    await this.db.transaction().execute(async (trx) => {
      const used = await trx
        .updateTable('pairing_tokens')
        .set({ used_at: now, device_id: deviceId })
        .where('jti', '=', claims.jti)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1)
        throw new FabricError('pairing_token_invalid', 'pairing token was already used; make a new one');
      await assertDeviceNameFree(trx, name);
      await trx
        .insertInto('devices')
        .values({
          id: deviceId,
          name,
          owner_id: claims.sub,
          created_at: now,
          last_seen_at: null,
          online: 0,
          revoked_at: null,
          capabilities: null,
          vault_recipient: vaultRecipient,
        })
        .execute();
    });
    const { token, expiresAt } = await this.tokens.sign('device', { sub: deviceId });
    return { deviceId, name, token, expiresAt };
  }

  private async storeCode(
    kind: 'setup' | 'invite',
    role: Role,
    by: string | null,
    ttlMs: number,
  ): Promise<CodeResponse> {
    const code = newCode();
    const now = this.clock.now();
    await this.db
      .insertInto('codes')
      .values({
        code_hash: hashCode(code),
        kind,
        role,
        created_by: by,
        created_at: now,
        expires_at: now + ttlMs,
        used_at: null,
        used_by: null,
      })
      .execute();
    return { code, kind, expiresAt: now + ttlMs };
  }
}

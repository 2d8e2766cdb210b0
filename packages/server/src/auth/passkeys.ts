import { randomBytes } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { FabricError, type PasskeyView, type Role } from '@fabric/protocol';
import type { Selectable } from 'kysely';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import type { PasskeysTable } from '../store/schema.js';
import type { RelyingParty } from './passkeys-origin.js';

/** A ceremony must finish within this; its challenge is then gone. */
export const CHALLENGE_MS = 5 * 60 * 1000;
const CEREMONY_TIMEOUT_MS = 2 * 60 * 1000;
const MAX_PASSKEYS_PER_USER = 20;
const RP_NAME = 'Fabric';

/** What a pending ceremony hands back: the browser keeps `challengeId` in an HttpOnly cookie. */
export interface Ceremony<O> {
  challengeId: string;
  options: O;
}

/**
 * Passkeys (WebAuthn, @simplewebauthn/server): a signed-in user enrols
 * them; anyone signs in with one without typing a name (a discoverable
 * credential names its user). Resident keys and user verification are
 * required. Each ceremony's challenge is stored here, keyed by a random id
 * the browser holds, and consumed on first use whatever the outcome.
 */
export class Passkeys {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Options for `navigator.credentials.create` for `user`, who must be signed in. */
  async registrationOptions(
    user: { id: string; name: string },
    rp: RelyingParty,
  ): Promise<Ceremony<PublicKeyCredentialCreationOptionsJSON>> {
    const existing = await this.db
      .selectFrom('passkeys')
      .select(['id', 'transports'])
      .where('user_id', '=', user.id)
      .execute();
    if (existing.length >= MAX_PASSKEYS_PER_USER) {
      throw new FabricError('conflict', `an account holds at most ${MAX_PASSKEYS_PER_USER} passkeys; remove one first`);
    }
    const options = await generateRegistrationOptions({
      rpName: RP_NAME,
      rpID: rp.rpId,
      userName: user.name,
      userDisplayName: user.name,
      userID: new TextEncoder().encode(user.id),
      attestationType: 'none',
      timeout: CEREMONY_TIMEOUT_MS,
      excludeCredentials: existing.map((p) => ({ id: p.id, transports: parseTransports(p.transports) })),
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    });
    const challengeId = await this.storeChallenge(options.challenge, 'register', user.id, rp);
    return { challengeId, options };
  }

  /**
   * Check a new credential against the challenge `challengeId` (which must
   * have been made for `userId`) and store it. Throws `bad_request` when the
   * challenge is unknown, used, expired or another user's, or the
   * authenticator's answer does not verify; `conflict` for a credential
   * already enrolled.
   */
  async verifyRegistration(
    userId: string,
    challengeId: string | null,
    response: RegistrationResponseJSON,
    label: string | undefined,
  ): Promise<PasskeyView> {
    const challenge = await this.takeChallenge(challengeId, 'register');
    if (challenge.user_id !== userId)
      throw new FabricError('bad_request', 'this passkey prompt was started by another account; start again');
    let result;
    try {
      result = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge.challenge,
        expectedOrigin: challenge.origin,
        expectedRPID: challenge.rp_id,
        requireUserVerification: true,
      });
    } catch (err) {
      this.log.warn(`passkey registration refused: ${err instanceof Error ? err.message : String(err)}`);
      throw new FabricError('bad_request', 'the new passkey could not be verified; try again');
    }
    if (!result.verified) throw new FabricError('bad_request', 'the new passkey could not be verified; try again');
    const info = result.registrationInfo;
    const taken = await this.db
      .selectFrom('passkeys')
      .select('id')
      .where('id', '=', info.credential.id)
      .executeTakeFirst();
    if (taken) throw new FabricError('conflict', 'this passkey is already enrolled');
    const count = (await this.db.selectFrom('passkeys').select('id').where('user_id', '=', userId).execute()).length;
    const transports = info.credential.transports ?? response.response.transports ?? [];
    const row = {
      id: info.credential.id,
      user_id: userId,
      public_key: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: JSON.stringify(transports),
      label: label?.trim() || `passkey ${count + 1}`,
      device_type: info.credentialDeviceType,
      backed_up: info.credentialBackedUp ? 1 : 0,
      created_at: this.clock.now(),
      last_used_at: null,
    };
    await this.db.insertInto('passkeys').values(row).execute();
    return passkeyView(row);
  }

  /** Options for `navigator.credentials.get` with no user named: the authenticator offers its discoverable credentials. */
  async authenticationOptions(rp: RelyingParty): Promise<Ceremony<PublicKeyCredentialRequestOptionsJSON>> {
    const options = await generateAuthenticationOptions({
      rpID: rp.rpId,
      userVerification: 'required',
      timeout: CEREMONY_TIMEOUT_MS,
    });
    const challengeId = await this.storeChallenge(options.challenge, 'authenticate', null, rp);
    return { challengeId, options };
  }

  /**
   * Check an assertion against the challenge `challengeId`; returns the user
   * it signs in and advances the credential's counter. Throws `login_failed`
   * for an unknown credential or one that does not verify (a bad signature,
   * a counter that went backwards, no user verification), `bad_request` for
   * a missing, used or expired challenge.
   */
  async verifyAuthentication(
    challengeId: string | null,
    response: AuthenticationResponseJSON,
  ): Promise<{ id: string; name: string; role: Role }> {
    const challenge = await this.takeChallenge(challengeId, 'authenticate');
    const passkey = await this.db.selectFrom('passkeys').selectAll().where('id', '=', response.id).executeTakeFirst();
    if (!passkey)
      throw new FabricError(
        'login_failed',
        'this passkey is not enrolled here (it may have been removed); sign in with your password and add it again',
      );
    const handle = response.response.userHandle;
    if (handle && Buffer.from(handle, 'base64url').toString('utf8') !== passkey.user_id) {
      throw new FabricError('login_failed', 'the passkey could not be verified; try again');
    }
    let result;
    try {
      result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge.challenge,
        expectedOrigin: challenge.origin,
        expectedRPID: challenge.rp_id,
        credential: {
          id: passkey.id,
          publicKey: new Uint8Array(Buffer.from(passkey.public_key, 'base64url')),
          counter: Number(passkey.counter),
          transports: parseTransports(passkey.transports),
        },
        requireUserVerification: true,
      });
    } catch (err) {
      this.log.warn(`passkey sign-in refused: ${err instanceof Error ? err.message : String(err)}`);
      throw new FabricError('login_failed', 'the passkey could not be verified; try again');
    }
    if (!result.verified) throw new FabricError('login_failed', 'the passkey could not be verified; try again');
    await this.db
      .updateTable('passkeys')
      .set({
        counter: result.authenticationInfo.newCounter,
        last_used_at: this.clock.now(),
        backed_up: result.authenticationInfo.credentialBackedUp ? 1 : 0,
      })
      .where('id', '=', passkey.id)
      .execute();
    const user = await this.db
      .selectFrom('users')
      .select(['id', 'name', 'role'])
      .where('id', '=', passkey.user_id)
      .executeTakeFirst();
    if (!user) throw new FabricError('login_failed', 'this account no longer exists');
    return user;
  }

  async list(userId: string): Promise<PasskeyView[]> {
    const rows = await this.db
      .selectFrom('passkeys')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'asc')
      .execute();
    return rows.map(passkeyView);
  }

  /** Remove one of `userId`'s passkeys; `not_found` for an id that is not theirs. */
  async remove(userId: string, id: string): Promise<void> {
    const res = await this.db
      .deleteFrom('passkeys')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (Number(res.numDeletedRows) !== 1) throw new FabricError('not_found', `no passkey ${id} on this account`);
  }

  private async storeChallenge(
    challenge: string,
    purpose: 'register' | 'authenticate',
    userId: string | null,
    rp: RelyingParty,
  ): Promise<string> {
    const now = this.clock.now();
    // Abandoned ceremonies are swept here rather than on a timer.
    await this.db.deleteFrom('webauthn_challenges').where('expires_at', '<', now).execute();
    const id = randomBytes(18).toString('base64url');
    await this.db
      .insertInto('webauthn_challenges')
      .values({
        id,
        challenge,
        purpose,
        user_id: userId,
        rp_id: rp.rpId,
        origin: rp.origin,
        expires_at: now + CHALLENGE_MS,
      })
      .execute();
    return id;
  }

  /** Consume a challenge: deleted in the same statement that reads it, so it answers once. */
  private async takeChallenge(id: string | null, purpose: 'register' | 'authenticate') {
    const row = id
      ? await this.db.deleteFrom('webauthn_challenges').where('id', '=', id).returningAll().executeTakeFirst()
      : undefined;
    if (row?.purpose !== purpose || Number(row.expires_at) < this.clock.now()) {
      throw new FabricError('bad_request', 'this passkey prompt expired or was already used; start again');
    }
    return row;
  }
}

function parseTransports(raw: string): string[] {
  try {
    const value = JSON.parse(raw) as unknown;
    return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

function passkeyView(r: Selectable<PasskeysTable>): PasskeyView {
  return {
    id: r.id,
    label: r.label,
    transports: parseTransports(r.transports),
    deviceType: r.device_type,
    backedUp: Number(r.backed_up) === 1,
    createdAt: Number(r.created_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}

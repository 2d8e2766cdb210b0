import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FabricError, tokenLifetimes } from '@fabric/protocol';
import { FakeClock } from '../clock.js';
import { openSqlite, type Db } from '../store/db.js';
import { KeyRing } from './keyring.js';
import { hashCode, hashPassword, newCode, verifyPassword } from './secrets.js';
import { Tokens } from './tokens.js';

const SECOND = 1000;
const DAY = 24 * 60 * 60 * SECOND;
const LONGEST_TOKEN_MS = 30 * DAY;

/** The FabricError a promise rejects with. */
async function rejection(p: Promise<unknown>): Promise<FabricError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FabricError) return err;
    throw err;
  }
  throw new Error('expected a FabricError, the promise resolved');
}

const kidOf = (token: string): string => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid;

const dbs: Db[] = [];
async function freshDb(): Promise<Db> {
  const db = await openSqlite(':memory:');
  dbs.push(db);
  return db;
}
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((db) => db.destroy()));
});

describe('KeyRing and Tokens', () => {
  let db: Db;
  let clock: FakeClock;
  let ring: KeyRing;
  let tokens: Tokens;

  beforeEach(async () => {
    db = await freshDb();
    clock = new FakeClock();
    ring = new KeyRing(db, clock);
    await ring.load();
    tokens = new Tokens(ring, clock);
  });

  /** A person's token; `Tokens.sign` is typed for the `browser | cli` pair rather than one of them alone. */
  const signUser = (typ: 'browser' | 'cli', body: { sub: string; role: 'owner' | 'member'; name: string }) =>
    tokens.sign(typ, body);

  describe('signing and verifying', () => {
    it('round-trips a browser token with its claims and a 12 h expiry', async () => {
      const { token, expiresAt, jti } = await signUser('browser', { sub: 'usr_alice', role: 'owner', name: 'alice' });
      const claims = await tokens.verify(token, ['browser', 'cli']);
      expect(claims).toMatchObject({
        typ: 'browser',
        sub: 'usr_alice',
        role: 'owner',
        name: 'alice',
        iss: 'fabric',
        jti,
      });
      expect(expiresAt).toBe(claims.exp * 1000);
      expect(claims.exp - claims.iat).toBe(12 * 60 * 60);
    });

    it('round-trips a cli token', async () => {
      const { token } = await signUser('cli', { sub: 'usr_bob', role: 'member', name: 'bob' });
      expect(await tokens.verify(token, ['cli'])).toMatchObject({ typ: 'cli', sub: 'usr_bob', role: 'member' });
    });

    it('round-trips a device token', async () => {
      const { token } = await tokens.sign('device', { sub: 'dev_laptop01' });
      expect(await tokens.verify(token, ['device'])).toMatchObject({ typ: 'device', sub: 'dev_laptop01' });
    });

    it('round-trips a pairing token with the jti it was given', async () => {
      const { token } = await tokens.sign('pairing', { sub: 'usr_alice' }, 'pairing-jti-1');
      expect(await tokens.verify(token, ['pairing'])).toMatchObject({
        typ: 'pairing',
        sub: 'usr_alice',
        jti: 'pairing-jti-1',
      });
    });

    it('gives every token a different jti', async () => {
      const a = await tokens.sign('device', { sub: 'dev_laptop01' });
      const b = await tokens.sign('device', { sub: 'dev_laptop01' });
      expect(a.jti).not.toBe(b.jti);
    });

    it('refuses a token of the wrong type with token_invalid', async () => {
      const { token } = await tokens.sign('pairing', { sub: 'usr_alice' });
      const err = await rejection(tokens.verify(token, ['device']));
      expect(err.code).toBe('token_invalid');
      expect(err.message).toContain('pairing');

      const browser = await signUser('browser', { sub: 'usr_alice', role: 'owner', name: 'alice' });
      expect((await rejection(tokens.verify(browser.token, ['cli']))).code).toBe('token_invalid');
    });

    const bodies = {
      browser: { sub: 'usr_alice', role: 'owner', name: 'alice' },
      cli: { sub: 'usr_alice', role: 'owner', name: 'alice' },
      device: { sub: 'dev_laptop01' },
      pairing: { sub: 'usr_alice' },
    } as const;

    it.each(Object.keys(bodies) as (keyof typeof bodies)[])(
      'accepts a %s token until its lifetime is over, then says token_expired',
      async (typ) => {
        const { token } = await tokens.sign(typ, bodies[typ] as never);
        clock.advance(tokenLifetimes[typ] * SECOND - SECOND);
        await expect(tokens.verify(token, [typ])).resolves.toMatchObject({ typ });
        clock.advance(2 * SECOND);
        const err = await rejection(tokens.verify(token, [typ]));
        expect(err.code).toBe('token_expired');
      },
    );

    it('refuses a token whose claims were edited (member made owner)', async () => {
      const { token } = await signUser('cli', { sub: 'usr_bob', role: 'member', name: 'bob' });
      const [header, payload, signature] = token.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...claims, role: 'owner' })).toString('base64url');
      const err = await rejection(tokens.verify(`${header}.${forged}.${signature}`, ['cli']));
      expect(err.code).toBe('token_invalid');
    });

    it('refuses a token whose signature was altered', async () => {
      const { token } = await tokens.sign('device', { sub: 'dev_laptop01' });
      const [header, payload, signature] = token.split('.');
      const mid = Math.floor(signature!.length / 2);
      const altered = signature!.slice(0, mid) + (signature![mid] === 'A' ? 'B' : 'A') + signature!.slice(mid + 1);
      expect((await rejection(tokens.verify(`${header}.${payload}.${altered}`, ['device']))).code).toBe(
        'token_invalid',
      );
    });

    it('refuses an unsigned token that names a real key', async () => {
      const { token } = await tokens.sign('device', { sub: 'dev_laptop01' });
      const header = Buffer.from(JSON.stringify({ alg: 'none', kid: kidOf(token) })).toString('base64url');
      const payload = token.split('.')[1];
      expect((await rejection(tokens.verify(`${header}.${payload}.`, ['device']))).code).toBe('token_invalid');
    });

    it('refuses garbage with token_invalid and does not echo it', async () => {
      const err = await rejection(tokens.verify('not-a-token-secret123', ['device']));
      expect(err.code).toBe('token_invalid');
      expect(err.message).not.toContain('secret123');
    });

    it('refuses a token signed by another installation', async () => {
      const otherRing = new KeyRing(await freshDb(), clock);
      await otherRing.load();
      const { token } = await new Tokens(otherRing, clock).sign('device', { sub: 'dev_laptop01' });
      const err = await rejection(tokens.verify(token, ['device']));
      expect(err.code).toBe('token_invalid');
    });
  });

  describe('rotation', () => {
    it('signs new tokens with the new key and keeps verifying the old ones', async () => {
      const old = await tokens.sign('device', { sub: 'dev_laptop01' });
      clock.advance(DAY);
      await ring.rotate();

      const fresh = await tokens.sign('device', { sub: 'dev_laptop01' });
      expect(kidOf(fresh.token)).not.toBe(kidOf(old.token));
      expect(kidOf(fresh.token)).toBe(ring.current().kid);
      await expect(tokens.verify(old.token, ['device'])).resolves.toMatchObject({ sub: 'dev_laptop01' });
      await expect(tokens.verify(fresh.token, ['device'])).resolves.toMatchObject({ sub: 'dev_laptop01' });
    });

    it('signs with the newest key even when two rotations land in the same millisecond', async () => {
      await ring.rotate();
      await ring.rotate();
      const fresh = await tokens.sign('device', { sub: 'dev_laptop01' });
      const rows = await db.selectFrom('signing_keys').selectAll().where('retired_at', 'is', null).execute();
      expect(rows).toHaveLength(1);
      expect(kidOf(fresh.token)).toBe(rows[0]!.kid);
    });

    it('forgets a retired key once the longest token lifetime has passed since its retirement', async () => {
      clock.advance(DAY);
      const old = await tokens.sign('device', { sub: 'dev_laptop01' });
      const oldKid = kidOf(old.token);
      clock.advance(DAY);
      await ring.rotate(); // oldKid retired now

      clock.advance(LONGEST_TOKEN_MS);
      expect(ring.verifying(oldKid)).not.toBeNull();

      clock.advance(1);
      expect(ring.verifying(oldKid)).toBeNull();
      // The key is refused before the expiry is even looked at.
      const err = await rejection(tokens.verify(old.token, ['device']));
      expect(err.code).toBe('token_invalid');
      expect(err.message).toContain('key');
    });

    it('deletes keys past their window from the store at the next rotation', async () => {
      const firstKid = ring.current().kid;
      clock.advance(DAY);
      await ring.rotate();
      const secondKid = ring.current().kid;
      clock.advance(LONGEST_TOKEN_MS + 1);
      await ring.rotate();

      const kids = (await db.selectFrom('signing_keys').select('kid').execute()).map((r) => r.kid);
      expect(kids).not.toContain(firstKid);
      expect(kids).toContain(secondKid);
      expect(kids).toContain(ring.current().kid);
    });

    it('does not rotate on load while the current key is young', async () => {
      const kid = ring.current().kid;
      clock.advance(7 * DAY - 1);
      const restarted = new KeyRing(db, clock);
      await restarted.load();
      expect(restarted.current().kid).toBe(kid);
    });

    it('rotates on load once the current key is older than rotateAfterMs, keeping the old one verifying', async () => {
      const old = await tokens.sign('device', { sub: 'dev_laptop01' });
      clock.advance(7 * DAY);
      const restarted = new KeyRing(db, clock);
      await restarted.load();
      expect(restarted.current().kid).not.toBe(kidOf(old.token));
      await expect(new Tokens(restarted, clock).verify(old.token, ['device'])).resolves.toMatchObject({
        sub: 'dev_laptop01',
      });
    });

    it('honours a custom rotateAfterMs', async () => {
      const kid = ring.current().kid;
      clock.advance(60 * SECOND);
      const restarted = new KeyRing(db, clock, { rotateAfterMs: 60 * SECOND });
      await restarted.load();
      expect(restarted.current().kid).not.toBe(kid);
    });
  });

  describe('two nodes over the same store', () => {
    it('agree on the signing key after loading', async () => {
      const other = new KeyRing(db, clock);
      await other.load();
      expect(other.current().kid).toBe(ring.current().kid);
      const { token } = await tokens.sign('device', { sub: 'dev_laptop01' });
      await expect(new Tokens(other, clock).verify(token, ['device'])).resolves.toMatchObject({ sub: 'dev_laptop01' });
    });

    it("verify each other's tokens after one rotates and the other reloads", async () => {
      const other = new KeyRing(db, clock);
      await other.load();
      const otherTokens = new Tokens(other, clock);

      clock.advance(DAY);
      await ring.rotate();
      const { token } = await tokens.sign('device', { sub: 'dev_laptop01' });
      // Until it re-reads the store, the other node does not know the new key.
      expect((await rejection(otherTokens.verify(token, ['device']))).code).toBe('token_invalid');

      await other.reload();
      expect(other.current().kid).toBe(ring.current().kid);
      await expect(otherTokens.verify(token, ['device'])).resolves.toMatchObject({ sub: 'dev_laptop01' });
    });
  });

  it('refuses to sign before any key is loaded', () => {
    const unloaded = new KeyRing(db, clock);
    expect(() => unloaded.current()).toThrow('not loaded');
  });
});

describe('passwords', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(stored).not.toContain('correct horse');
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('salts each hash', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same', b)).toBe(true);
  });

  it('answers false for a stored hash that is not an scrypt hash', async () => {
    const good = await hashPassword('pw');
    const [, n, r, p, salt, hash] = good.split('$');
    for (const stored of [
      '',
      'pw',
      `bcrypt$${n}$${r}$${p}$${salt}$${hash}`,
      `scrypt$${n}$${r}$${p}$${salt}`,
      `scrypt$${n}$${r}$${p}$${salt}$`,
      `scrypt$$${r}$${p}$${salt}$${hash}`,
    ]) {
      expect(await verifyPassword('pw', stored), stored).toBe(false);
    }
  });
});

describe('passwords against a damaged stored hash', () => {
  it('refuses every password when the digest is empty or the wrong size, instead of matching all of them', async () => {
    const [, n, r, p, salt, hash] = (await hashPassword('pw')).split('$');
    expect(await verifyPassword('anything', `scrypt$${n}$${r}$${p}$${salt}$!!`)).toBe(false);
    expect(await verifyPassword('pw', `scrypt$${n}$${r}$${p}$${salt}$${hash!.slice(0, 20)}`)).toBe(false);
  });

  it('answers false rather than throwing for scrypt parameters it refuses', async () => {
    const [, , r, p, salt, hash] = (await hashPassword('pw')).split('$');
    for (const n of ['3', 'abc', String(1 << 22)]) {
      expect(await verifyPassword('pw', `scrypt$${n}$${r}$${p}$${salt}$${hash}`), n).toBe(false);
    }
  });
});

describe('one-time codes', () => {
  const crockford = '[0-9ABCDEFGHJKMNPQRSTVWXYZ]';
  const shape = new RegExp(`^${crockford}{4}(-${crockford}{4}){4}$`);

  it('come as five groups of four Crockford base32 characters, all different', () => {
    const codes = Array.from({ length: 200 }, () => newCode());
    for (const code of codes) expect(code).toMatch(shape);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('hash the same however they are typed', () => {
    const code = '0123-4567-89AB-CDEF-GHJK';
    const expected = hashCode(code);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
    for (const typed of [
      '0123-4567-89ab-cdef-ghjk',
      '012345678 9ABCDEFGHJK',
      '01234567-89ABCDEFGHJK',
      'O123-4567-89AB-CDEF-GHJK',
      'o123-4567-89ab-cdef-ghjk',
      '0I23-4567-89AB-CDEF-GHJK',
      '0i23-4567-89AB-CDEF-GHJK',
      '0L23-4567-89AB-CDEF-GHJK',
      '0l23-4567-89AB-CDEF-GHJK',
    ]) {
      expect(hashCode(typed), typed).toBe(expected);
    }
  });

  it('hash different codes differently', () => {
    expect(hashCode('0123-4567-89AB-CDEF-GHJK')).not.toBe(hashCode('0123-4567-89AB-CDEF-GHJM'));
  });
});

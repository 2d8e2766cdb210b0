import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { relyingPartyFor } from '../src/auth/passkeys-origin.js';
import { passwordAllowedFromBrowser, signTrust, TRUST_MS, verifyTrust } from '../src/auth/passkeys-trust.js';
import { FakeClock } from '../src/clock.js';
import { BrowserJar } from './browser-jar.js';
import { testServer } from './harness.js';
import { SoftAuthenticator } from './soft-authenticator.js';

type TestServer = Awaited<ReturnType<typeof testServer>>;
let t: TestServer;
afterEach(async () => {
  await t?.server.close();
});

const PASSWORD = 'long-enough-password';
const DAY = 24 * 60 * 60 * 1000;

/** A control plane on a hand-moved clock, with eve (password) signed in from one browser at http://localhost:PORT. */
async function setup() {
  const clock = new FakeClock();
  t = await testServer({ clock });
  const invite = await t.server.ctx.accounts.createInvite(t.owner.id, 'owner');
  const eve = await t.server.ctx.accounts.redeem(invite.code, 'eve', PASSWORD, 'cli');
  const origin = `http://localhost:${t.server.port}`;
  const browser = new BrowserJar(origin);
  const login = await browser.call('POST', '/api/auth/login', { name: 'eve', password: PASSWORD, client: 'browser' });
  expect(login.status).toBe(200);
  return { clock, origin, browser, eveId: eve.user.id };
}

/** Enrol a passkey from `browser` (signed in) with `auth`. */
async function enrol(browser: BrowserJar, auth: SoftAuthenticator, label?: string) {
  const options = await browser.call('POST', '/api/auth/passkeys/registration/options', {});
  expect(options.status).toBe(200);
  return browser.call('POST', '/api/auth/passkeys/registration/verify', {
    response: auth.create(options.body),
    ...(label ? { label } : {}),
  });
}

async function passkeySignIn(
  browser: BrowserJar,
  auth: SoftAuthenticator,
  over: Parameters<SoftAuthenticator['get']>[1] = {},
) {
  const options = await browser.call('POST', '/api/auth/passkeys/authentication/options', {});
  expect(options.status).toBe(200);
  return browser.call('POST', '/api/auth/passkeys/authentication/verify', { response: auth.get(options.body, over) });
}

describe('passkey enrolment', () => {
  it('enrols a resident, user-verified passkey for the signed-in user, bound to this host', async () => {
    const { origin, browser } = await setup();
    const options = await browser.call('POST', '/api/auth/passkeys/registration/options', {});
    expect(options.body).toMatchObject({
      rp: { id: 'localhost', name: 'Fabric' },
      user: { name: 'eve' },
      attestation: 'none',
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    });
    // The challenge id rides in a short-lived HttpOnly cookie scoped to the passkey routes.
    expect(browser.attributes('fabric_webauthn')).toBe(
      'Path=/api/auth/passkeys; HttpOnly; SameSite=Strict; Max-Age=300',
    );

    const auth = new SoftAuthenticator(origin);
    const verified = await browser.call('POST', '/api/auth/passkeys/registration/verify', {
      response: auth.create(options.body),
      label: 'laptop',
    });
    expect(verified.status).toBe(201);
    expect(verified.body.passkey).toMatchObject({
      id: auth.id,
      label: 'laptop',
      transports: ['internal'],
      backedUp: false,
      lastUsedAt: null,
    });
    expect(browser.has('fabric_webauthn')).toBe(false);
    // Enrolling proves the passkey on this browser: it is trusted for 30 days.
    expect(browser.attributes('fabric_trust')).toBe('Path=/api/auth; HttpOnly; SameSite=Strict; Max-Age=2592000');
    expect(verified.body.trustedUntil).toBe(t.server.ctx.clock.now() + TRUST_MS);

    const list = await browser.call('GET', '/api/auth/passkeys');
    expect(list.body.passkeys).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain('public');

    // The same authenticator cannot enrol twice: it is excluded next time.
    const again = await browser.call('POST', '/api/auth/passkeys/registration/options', {});
    expect(again.body.excludeCredentials).toEqual([{ id: auth.id, type: 'public-key', transports: ['internal'] }]);
  });

  it('refuses enrolment without sign-in, without the CSRF header, from another origin, or without user verification', async () => {
    const { origin, browser } = await setup();
    const stranger = new BrowserJar(origin);
    expect((await stranger.call('POST', '/api/auth/passkeys/registration/options', {})).status).toBe(401);
    const forged = await fetch(`${origin}/api/auth/passkeys/registration/options`, {
      method: 'POST',
      headers: { cookie: `fabric_session=${browser.get('fabric_session')}` },
    });
    expect(forged.status).toBe(403);

    const options = await browser.call('POST', '/api/auth/passkeys/registration/options', {});
    const wrongOrigin = await browser.call('POST', '/api/auth/passkeys/registration/verify', {
      response: new SoftAuthenticator(origin).create(options.body, { origin: 'https://evil.example' }),
    });
    expect(wrongOrigin).toMatchObject({ status: 400, body: { code: 'bad_request' } });

    const again = await browser.call('POST', '/api/auth/passkeys/registration/options', {});
    const noUv = await browser.call('POST', '/api/auth/passkeys/registration/verify', {
      response: new SoftAuthenticator(origin).create(again.body, { flags: 0x41 }),
    });
    expect(noUv.status).toBe(400);
    expect((await browser.call('GET', '/api/auth/passkeys')).body.passkeys).toEqual([]);
  });

  it('removes a passkey only for its owner', async () => {
    const { origin, browser } = await setup();
    const auth = new SoftAuthenticator(origin);
    await enrol(browser, auth);
    const owner = await t.api(`/api/auth/passkeys/${auth.id}`, { method: 'DELETE' });
    expect(owner.status).toBe(404); // ada's CLI token: not ada's passkey
    expect((await browser.call('DELETE', `/api/auth/passkeys/${auth.id}`)).status).toBe(204);
    expect((await browser.call('GET', '/api/auth/passkeys')).body.passkeys).toEqual([]);
  });
});

describe('passkey sign-in', () => {
  it('signs in without a name: sets the session cookie and trusts the browser for 30 days', async () => {
    const { origin, browser, eveId } = await setup();
    const auth = new SoftAuthenticator(origin);
    await enrol(browser, auth);

    const fresh = new BrowserJar(origin);
    const options = await fresh.call('POST', '/api/auth/passkeys/authentication/options', {});
    expect(options.body).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
    expect(options.body.allowCredentials ?? []).toEqual([]); // usernameless: the authenticator picks its credential
    const signedIn = await fresh.call('POST', '/api/auth/passkeys/authentication/verify', {
      response: auth.get(options.body),
    });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body).toMatchObject({ user: { id: eveId, name: 'eve', role: 'owner' } });
    expect(signedIn.body.token).toBeUndefined(); // the session token stays in its HttpOnly cookie
    expect(fresh.attributes('fabric_session')).toBe('Path=/; HttpOnly; SameSite=Strict; Max-Age=43200');
    expect(fresh.attributes('fabric_trust')).toBe('Path=/api/auth; HttpOnly; SameSite=Strict; Max-Age=2592000');
    expect((await fresh.call('GET', '/api/auth/me')).body).toMatchObject({ name: 'eve' });
    expect((await fresh.call('GET', '/api/auth/passkeys/trust')).body).toEqual({
      trusted: true,
      expiresAt: t.server.ctx.clock.now() + TRUST_MS,
    });
    expect((await new BrowserJar(origin).call('GET', '/api/auth/passkeys/trust')).body).toEqual({
      trusted: false,
      expiresAt: null,
    });

    const [stored] = (await fresh.call('GET', '/api/auth/passkeys')).body.passkeys;
    expect(stored.lastUsedAt).toBe(t.server.ctx.clock.now());
  });

  it('uses each challenge once, within five minutes, in the browser that asked for it, for its own ceremony', async () => {
    const { clock, origin, browser } = await setup();
    const auth = new SoftAuthenticator(origin);
    await enrol(browser, auth);

    // Replay: the same verify body a second time (the cookie put back by hand).
    const b = new BrowserJar(origin);
    const options = await b.call('POST', '/api/auth/passkeys/authentication/options', {});
    const challengeId = b.get('fabric_webauthn')!;
    const response = auth.get(options.body);
    expect((await b.call('POST', '/api/auth/passkeys/authentication/verify', { response })).status).toBe(200);
    b.set('fabric_webauthn', challengeId, '/api/auth/passkeys');
    const replay = await b.call('POST', '/api/auth/passkeys/authentication/verify', { response });
    expect(replay).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('expired or was already used') },
    });

    // Another browser, without the cookie, cannot answer this browser's challenge.
    const c = new BrowserJar(origin);
    const asked = await c.call('POST', '/api/auth/passkeys/authentication/options', {});
    const elsewhere = new BrowserJar(origin);
    expect(
      (await elsewhere.call('POST', '/api/auth/passkeys/authentication/verify', { response: auth.get(asked.body) }))
        .status,
    ).toBe(400);

    // Expired after five minutes.
    const d = new BrowserJar(origin);
    const old = await d.call('POST', '/api/auth/passkeys/authentication/options', {});
    clock.advance(5 * 60 * 1000 + 1);
    expect(
      (await d.call('POST', '/api/auth/passkeys/authentication/verify', { response: auth.get(old.body) })).status,
    ).toBe(400);

    // A registration challenge does not sign anyone in.
    const reg = await browser.call('POST', '/api/auth/passkeys/registration/options', {});
    const crossed = await browser.call('POST', '/api/auth/passkeys/authentication/verify', {
      response: auth.get(reg.body),
    });
    expect(crossed.status).toBe(400);
  });

  it('refuses a forged signature, a counter that went backwards, an unknown credential and a foreign origin', async () => {
    const { origin, browser } = await setup();
    const auth = new SoftAuthenticator(origin);
    await enrol(browser, auth);
    expect((await passkeySignIn(new BrowserJar(origin), auth)).status).toBe(200);

    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const forged = await passkeySignIn(new BrowserJar(origin), auth, { signWith: other });
    expect(forged).toMatchObject({ status: 401, body: { code: 'login_failed' } });
    const cloned = await passkeySignIn(new BrowserJar(origin), auth, { counter: 1 });
    expect(cloned).toMatchObject({ status: 401, body: { code: 'login_failed' } });
    const unknown = await passkeySignIn(new BrowserJar(origin), new SoftAuthenticator(origin));
    expect(unknown).toMatchObject({
      status: 401,
      body: { code: 'login_failed', message: expect.stringContaining('not enrolled') },
    });
    const phished = await passkeySignIn(new BrowserJar(origin), auth, { origin: 'https://fabric.evil.example' });
    expect(phished).toMatchObject({ status: 401, body: { code: 'login_failed' } });
    const noUv = await passkeySignIn(new BrowserJar(origin), auth, { flags: 0x01 });
    expect(noUv.status).toBe(401);
  });

  it('rate-limits the verify endpoints per address', async () => {
    const { origin } = await setup();
    const b = new BrowserJar(origin);
    const codes: number[] = [];
    for (let i = 0; i < 11; i++)
      codes.push((await b.call('POST', '/api/auth/passkeys/authentication/verify', { response: {} })).status);
    expect(codes.slice(0, 10).every((c) => c === 400)).toBe(true);
    expect(codes[10]).toBe(429);
  });
});

describe('the 30-day browser trust window', () => {
  it('lets a password sign in from a browser only while it is trusted, once the account has a passkey', async () => {
    const { clock, origin, browser } = await setup();
    const login = (b: BrowserJar) =>
      b.call('POST', '/api/auth/login', { name: 'eve', password: PASSWORD, client: 'browser' });

    // No passkey yet: any browser may use the password (first setup works).
    expect((await login(new BrowserJar(origin))).status).toBe(200);

    const auth = new SoftAuthenticator(origin);
    await enrol(browser, auth);
    const trusted = new BrowserJar(origin);
    expect((await passkeySignIn(trusted, auth)).status).toBe(200);

    // A browser that never used the passkey: passkey_required, and no session cookie.
    const stranger = await login(new BrowserJar(origin));
    expect(stranger).toMatchObject({
      status: 401,
      body: { code: 'passkey_required', message: expect.stringContaining('sign in with your passkey') },
    });
    expect(stranger.setCookie.some((c) => c.startsWith('fabric_session='))).toBe(false);
    // A wrong password still reads as a wrong password, trusted or not.
    const wrong = await trusted.call('POST', '/api/auth/login', { name: 'eve', password: 'nope', client: 'browser' });
    expect(wrong.body.code).toBe('login_failed');

    // The trusted browser signs in with the password for 30 days...
    clock.advance(30 * DAY - 1000);
    expect((await login(trusted)).status).toBe(200);
    // ...and then has to use the passkey again, even if it still sends the old cookie.
    clock.advance(2000);
    expect((await login(trusted)).body.code).toBe('passkey_required');
    expect((await trusted.call('GET', '/api/auth/passkeys/trust')).body.trusted).toBe(false);
    expect((await passkeySignIn(trusted, auth)).status).toBe(200);
    expect((await login(trusted)).status).toBe(200);

    // The CLI is not a browser: unaffected.
    const cli = await fetch(`${origin}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'eve', password: PASSWORD, client: 'cli' }),
    });
    expect(cli.status).toBe(200);

    // Removing the last passkey puts the password back everywhere.
    await trusted.call('DELETE', `/api/auth/passkeys/${auth.id}`);
    expect((await login(new BrowserJar(origin))).status).toBe(200);
  });

  it('trusts a browser for the user it signed in, not for another account', async () => {
    const { origin, browser } = await setup();
    const auth = new SoftAuthenticator(origin);
    await enrol(browser, auth);
    // grace has a passkey too; the browser eve trusted is not trusted for grace.
    const invite = await t.server.ctx.accounts.createInvite(t.owner.id, 'member');
    await t.server.ctx.accounts.redeem(invite.code, 'grace', PASSWORD, 'cli');
    const graceBrowser = new BrowserJar(origin);
    await graceBrowser.call('POST', '/api/auth/login', { name: 'grace', password: PASSWORD, client: 'browser' });
    await enrol(graceBrowser, new SoftAuthenticator(origin));
    const asGrace = await browser.call('POST', '/api/auth/login', {
      name: 'grace',
      password: PASSWORD,
      client: 'browser',
    });
    expect(asGrace.body.code).toBe('passkey_required');
  });

  it('states the rule as a pure function and ages tokens with the clock', async () => {
    expect(passwordAllowedFromBrowser('u1', 0, null)).toBe(true);
    expect(passwordAllowedFromBrowser('u1', 1, null)).toBe(false);
    expect(passwordAllowedFromBrowser('u1', 1, { userId: 'u1', browserId: 'b'.repeat(22), expiresAt: 1 })).toBe(true);
    expect(passwordAllowedFromBrowser('u1', 2, { userId: 'u2', browserId: 'b'.repeat(22), expiresAt: 1 })).toBe(false);

    const clock = new FakeClock();
    t = await testServer({ clock });
    const keys = t.server.ctx.keys;
    const { token, trust } = await signTrust(keys, clock, 'usr_1');
    expect(trust.expiresAt).toBe(clock.now() + TRUST_MS);
    expect(await verifyTrust(keys, clock, token)).toEqual(trust);
    // A session token is not a trust token, and a trust token is not a session token.
    const session = await t.server.ctx.accounts.signIn({ id: 'usr_1', name: 'x', role: 'owner' }, 'browser');
    expect(await verifyTrust(keys, clock, session.token)).toBeNull();
    await expect(t.server.ctx.tokens.verify(token, ['browser', 'cli'])).rejects.toMatchObject({
      code: 'token_invalid',
    });
    expect(await verifyTrust(keys, clock, `${token.slice(0, -2)}xx`)).toBeNull();
    clock.advance(TRUST_MS + 1000);
    expect(await verifyTrust(keys, clock, token)).toBeNull();
  });
});

describe('the relying party', () => {
  const req = (host: string, protocol = 'http') => ({ protocol, headers: { host } });

  it('comes from the Host header for localhost and https names', () => {
    expect(relyingPartyFor(req('localhost:7300'))).toEqual({ rpId: 'localhost', origin: 'http://localhost:7300' });
    expect(relyingPartyFor(req('Fabric.Example.org', 'https'))).toEqual({
      rpId: 'fabric.example.org',
      origin: 'https://fabric.example.org',
    });
    expect(relyingPartyFor(req('fabric.example.org:8443', 'https'))).toEqual({
      rpId: 'fabric.example.org',
      origin: 'https://fabric.example.org:8443',
    });
    expect(relyingPartyFor(req('pi.localhost:80'))).toEqual({ rpId: 'pi.localhost', origin: 'http://pi.localhost' });
  });

  it('refuses ip addresses, plain http off localhost, and malformed hosts, saying what to do', () => {
    expect(() => relyingPartyFor(req('127.0.0.1:7300'))).toThrow(/host name/);
    expect(() => relyingPartyFor(req('[::1]:7300'))).toThrow(/host name/);
    expect(() => relyingPartyFor(req('fabric.lan:7300'))).toThrow(/need https/);
    expect(() => relyingPartyFor(req('evil.example/path'))).toThrow(/host name/);
    expect(() => relyingPartyFor(req(''))).toThrow(/host name/);
  });

  it('is pinned by FABRIC_PUBLIC_ORIGIN behind a proxy', () => {
    expect(relyingPartyFor(req('fabric.example.org'), 'https://fabric.example.org')).toEqual({
      rpId: 'fabric.example.org',
      origin: 'https://fabric.example.org',
    });
    expect(() => relyingPartyFor(req('other.example.org'), 'https://fabric.example.org')).toThrow(/only/);
  });
});

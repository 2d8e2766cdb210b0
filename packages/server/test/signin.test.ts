// Sign-in that leaks nothing: unknown names cost what wrong passwords cost, and
// each door (sign-in, pairing, invite redemption) has its own budget, per address
// and, for sign-in, per account name. A real control plane on loopback; other
// addresses are simulated with fastify's inject.
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { testServer } from './harness.js';

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function setup() {
  const t = await testServer();
  servers.push(t.server);
  const invite = await t.server.ctx.accounts.createInvite(t.owner.id, 'member');
  await t.server.ctx.accounts.redeem(invite.code, 'bob', 'long-enough-password', 'cli');
  return t;
}

type T = Awaited<ReturnType<typeof setup>>;

/** A password sign-in from `address`. */
function login(t: T, name: string, password: string, address = '127.0.0.1') {
  return t.server.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    remoteAddress: address,
    payload: { name, password, client: 'cli' },
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('password sign-in', () => {
  it('takes as long for a name that does not exist as for a wrong password', async () => {
    const t = await setup();
    const accounts = t.server.ctx.accounts;
    const time = async (name: string) => {
      const start = performance.now();
      await expect(accounts.login(name, 'not-the-password', 'cli')).rejects.toMatchObject({ code: 'login_failed' });
      return performance.now() - start;
    };
    await time('nobody-at-all'); // the first unknown name also makes the dummy hash
    const unknown: number[] = [];
    const wrong: number[] = [];
    // Interleaved, so a burst of load on the machine hits both alike.
    for (let i = 0; i < 5; i++) {
      unknown.push(await time(`nobody-${i}`));
      wrong.push(await time('bob'));
    }
    expect(median(unknown)).toBeGreaterThanOrEqual(0.5 * median(wrong));
    // And the answer is the same: an unknown name, the passwordless owner, a wrong password.
    for (const name of ['nobody', 'ada', 'bob']) {
      const res = await login(t, name, 'not-the-password');
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ code: 'login_failed', message: 'wrong name or password' });
    }
  }, 60_000);
});

describe('rate limits', () => {
  it('lets a device pair with a valid token after ten failed sign-ins from the same address', async () => {
    const t = await setup();
    for (let i = 0; i < 10; i++) expect((await login(t, 'bob', `wrong-${i}`)).statusCode).toBe(401);
    expect((await login(t, 'bob', 'wrong-again')).statusCode).toBe(429);

    const pairing = await t.server.ctx.accounts.createPairingToken(t.owner.id);
    const paired = await t.server.app.inject({
      method: 'POST',
      url: '/api/devices/pair',
      remoteAddress: '127.0.0.1',
      payload: { token: pairing.code, name: 'pi' },
    });
    expect(paired.statusCode).toBe(201);
    const invite = await t.server.ctx.accounts.createInvite(t.owner.id, 'member');
    const redeemed = await t.server.app.inject({
      method: 'POST',
      url: '/api/auth/redeem',
      remoteAddress: '127.0.0.1',
      payload: { code: invite.code, name: 'carol', password: 'long-enough-password', client: 'cli' },
    });
    expect(redeemed.statusCode).toBe(201);
  }, 60_000);

  it('limits guessing at one account from many addresses, with a retry hint, and leaves other accounts alone', async () => {
    const t = await setup();
    for (let i = 0; i < 10; i++) expect((await login(t, 'bob', `wrong-${i}`, `10.0.0.${i + 1}`)).statusCode).toBe(401);
    const limited = await login(t, 'bob', 'long-enough-password', '10.0.1.1');
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({
      code: 'rate_limited',
      message: expect.stringMatching(/try again in \d+ s/),
    });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Another account from that same fresh address is still only a wrong password.
    expect((await login(t, 'ada', 'wrong', '10.0.1.1')).statusCode).toBe(401);
  }, 60_000);

  it('limits one address guessing pairing tokens without touching sign-in', async () => {
    const t = await setup();
    const pair = (token: string) =>
      t.server.app.inject({
        method: 'POST',
        url: '/api/devices/pair',
        remoteAddress: '10.0.2.1',
        payload: { token, name: 'pi' },
      });
    for (let i = 0; i < 10; i++) expect((await pair(`not-a-pairing-token-${i}`)).statusCode).toBe(401);
    const limited = await pair('not-a-pairing-token-again');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await login(t, 'bob', 'long-enough-password', '10.0.2.1')).statusCode).toBe(200);
  }, 60_000);

  it('limits checks of one passkey from many addresses', async () => {
    const t = await setup();
    const response = {
      id: 'Y3JlZGVudGlhbA',
      rawId: 'Y3JlZGVudGlhbA',
      type: 'public-key',
      clientExtensionResults: {},
      response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' },
    };
    const check = (address: string) =>
      t.server.app.inject({
        method: 'POST',
        url: '/api/auth/passkeys/authentication/verify',
        remoteAddress: address,
        payload: { response },
      });
    for (let i = 0; i < 10; i++) expect((await check(`10.0.3.${i + 1}`)).statusCode).not.toBe(429);
    const limited = await check('10.0.4.1');
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'rate_limited' });
  }, 60_000);
});

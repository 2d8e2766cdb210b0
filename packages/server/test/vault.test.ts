import { afterEach, describe, expect, it } from 'vitest';
import { testServer } from './harness.js';

type TestServer = Awaited<ReturnType<typeof testServer>>;
let t: TestServer;
afterEach(async () => t.server.close());

const armored = (body = 'YWdl') => `-----BEGIN AGE ENCRYPTED FILE-----\n${body}\n-----END AGE ENCRYPTED FILE-----\n`;
const recipient = 'age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq';
const set = (version: number, over: Record<string, unknown> = {}) => ({
  vaultId: 'vlt_test',
  version,
  postQuantum: false,
  previousHash: version === 1 ? null : 'h',
  recipients: [{ id: 'cli_1', kind: 'cli', recipient, label: 'cli', signer: 'c2lnbmVy', addedAt: 1 }],
  createdAt: 1,
  signedBy: 'c2lnbmVy',
  signature: 'c2ln',
  ...over,
});

describe('the vault API', () => {
  it('accepts recipient sets only in order, one version at a time, for one vault', async () => {
    t = await testServer();
    expect((await t.api('/api/vault/set')).status).toBe(404);
    expect((await t.api('/api/vault/set', { method: 'PUT', body: { set: set(2) } })).status).toBe(409);
    expect((await t.api('/api/vault/set', { method: 'PUT', body: { set: set(1) } })).status).toBe(200);
    expect((await t.api('/api/vault/set', { method: 'PUT', body: { set: set(1) } })).status).toBe(409);
    expect(
      (await t.api('/api/vault/set', { method: 'PUT', body: { set: set(2, { vaultId: 'vlt_other' }) } })).status,
    ).toBe(409);
    expect((await t.api('/api/vault/set', { method: 'PUT', body: { set: set(2, { recipients: [] }) } })).status).toBe(
      400,
    );
    expect((await t.api('/api/vault/set', { method: 'PUT', body: { set: set(2) } })).status).toBe(200);
    const sets = await t
      .api('/api/vault/sets?after=1')
      .then((r) => r.json() as Promise<{ sets: { version: number }[] }>);
    expect(sets.sets.map((s) => s.version)).toEqual([2]);
  });

  it('stores only armored age files, versioned, and refuses plaintext-looking bodies', async () => {
    t = await testServer();
    await t.api('/api/vault/set', { method: 'PUT', body: { set: set(1) } });
    const plain = await t.api('/api/vault/entries/API_KEY', {
      method: 'PUT',
      body: { ciphertext: 'sk-live-123', setVersion: 1 },
    });
    expect(plain.status).toBe(400);
    const badName = await t.api('/api/vault/entries/not-a-var', {
      method: 'PUT',
      body: { ciphertext: armored(), setVersion: 1 },
    });
    expect(badName.status).toBe(400);
    const first = await t.api('/api/vault/entries/API_KEY', {
      method: 'PUT',
      body: { ciphertext: armored(), setVersion: 1, baseVersion: 0 },
    });
    expect(await first.json()).toMatchObject({ name: 'API_KEY', version: 1, setVersion: 1 });
    const second = await t.api('/api/vault/entries/API_KEY', {
      method: 'PUT',
      body: { ciphertext: armored('Zm9v'), setVersion: 1, baseVersion: 1 },
    });
    expect(await second.json()).toMatchObject({ version: 2 });
    expect((await t.api('/api/vault/entries/API_KEY', { method: 'DELETE' })).status).toBe(204);
    expect((await t.api('/api/vault/entries/API_KEY')).status).toBe(404);
  });

  it('keeps browser unlock material it cannot open, releases it rate limited, and logs each release', async () => {
    t = await testServer();
    const enrol = await t.api('/api/vault/identities', {
      body: {
        id: 'brw_1',
        kind: 'browser',
        label: 'iPhone Safari',
        wrappedByPassphrase: armored('cGFzcw'),
        wrappedByPasskey: armored('a2V5'),
        canary: armored('Y2FuYXJ5'),
        prfSalt: 'c2FsdA',
        credentialId: 'Y3JlZA',
      },
    });
    expect(enrol.status).toBe(201);
    const material = await t
      .api('/api/vault/identities/brw_1')
      .then((r) => r.json() as Promise<Record<string, unknown>>);
    expect(material).toMatchObject({
      id: 'brw_1',
      kind: 'browser',
      prfSalt: 'c2FsdA',
      credentialId: 'Y3JlZA',
      wrappedByPasskey: armored('a2V5'),
    });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await t.api('/api/vault/identities/brw_1')).status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    const log = await t.api('/api/vault/log?limit=50').then((r) => r.json() as Promise<{ log: { action: string }[] }>);
    expect(log.log.filter((l) => l.action === 'identity.released').length).toBe(10);
    expect(log.log.some((l) => l.action === 'identity.enrolled')).toBe(true);
  });

  it('gives unlock material only to its creator or an owner, lets only the creator replace it, and drops it when the client leaves the set', async () => {
    t = await testServer();
    const invite = await t.server.ctx.accounts.createInvite(t.owner.id, 'member');
    const bob = await t.server.ctx.accounts.redeem(invite.code, 'bob', 'long-enough-password', 'cli');
    const invite2 = await t.server.ctx.accounts.createInvite(t.owner.id, 'member');
    const carol = await t.server.ctx.accounts.redeem(invite2.code, 'carol', 'long-enough-password', 'cli');
    const material = {
      id: 'brw_bob',
      kind: 'browser',
      label: 'bob phone',
      wrappedByPassphrase: armored('Ym9i'),
      wrappedByPasskey: null,
      canary: null,
      prfSalt: null,
      credentialId: null,
    };
    expect((await t.api('/api/vault/identities', { body: material, token: bob.token })).status).toBe(201);
    expect((await t.api('/api/vault/identities/brw_bob', { token: carol.token })).status).toBe(403);
    expect((await t.api('/api/vault/identities/brw_bob', { token: bob.token })).status).toBe(200);
    expect((await t.api('/api/vault/identities/brw_bob')).status).toBe(200); // the owner
    expect(
      (
        await t.api('/api/vault/identities', {
          body: { ...material, wrappedByPassphrase: armored('bWFsbG9yeQ') },
          token: carol.token,
        })
      ).status,
    ).toBe(403);

    await t.api('/api/vault/set', {
      method: 'PUT',
      body: {
        set: set(1, {
          recipients: [
            { id: 'cli_1', kind: 'cli', recipient, label: 'cli', signer: 'c2lnbmVy', addedAt: 1 },
            {
              id: 'brw_bob',
              kind: 'browser',
              recipient: recipient.replace('qyqs3290gq', 'qyqsabcdef'),
              label: 'bob',
              signer: null,
              addedAt: 1,
            },
          ],
        }),
      },
    });
    expect((await t.api('/api/vault/identities/brw_bob', { token: bob.token })).status).toBe(200);
    await t.api('/api/vault/set', { method: 'PUT', body: { set: set(2) } }); // bob's browser revoked
    expect((await t.api('/api/vault/identities/brw_bob', { token: bob.token })).status).toBe(404);
  });

  it('lets members read but only owners change recipients, rewrap, delete or read the log', async () => {
    t = await testServer();
    const invite = await t.server.ctx.accounts.createInvite(t.owner.id, 'member');
    const member = await t.server.ctx.accounts.redeem(invite.code, 'bob', 'long-enough-password', 'cli');
    expect((await t.api('/api/vault/set', { method: 'PUT', body: { set: set(1) }, token: member.token })).status).toBe(
      403,
    );
    await t.api('/api/vault/set', { method: 'PUT', body: { set: set(1) } });
    expect((await t.api('/api/vault/set', { token: member.token })).status).toBe(200);
    expect((await t.api('/api/vault/log', { token: member.token })).status).toBe(403);
    expect((await t.api('/api/vault/entries?ciphertext=1', { token: member.token })).status).toBe(403);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { EntryView, EntryWithCiphertext, SessionView } from '@fabric/protocol';
import { FakeDevice, capabilities, testServer, until } from './harness.js';

type TestServer = Awaited<ReturnType<typeof testServer>>;
let t: TestServer;
afterEach(async () => t.server.close());

const armored = (body = 'YWdl') => `-----BEGIN AGE ENCRYPTED FILE-----\n${body}\n-----END AGE ENCRYPTED FILE-----\n`;
const recipient = 'age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq';
const set = {
  vaultId: 'vlt_test',
  version: 1,
  postQuantum: false,
  previousHash: null,
  recipients: [{ id: 'cli_1', kind: 'cli', recipient, label: 'cli', signer: 'c2lnbmVy', addedAt: 1 }],
  createdAt: 1,
  signedBy: 'c2lnbmVy',
  signature: 'c2ln',
};

/**
 * A vault with an owner (ada), two members (bob, carol) and a third member
 * to share with (dave). Entries: ADA_KEY (ada's, not shared), BOB_KEY
 * (bob's), SHARED_USE (ada's, carol may use it), SHARED_WRITE (ada's, carol
 * may use and overwrite it).
 */
async function fixture() {
  t = await testServer();
  const member = async (name: string) => {
    const invite = await t.server.ctx.accounts.createInvite(t.owner.id, 'member');
    return t.server.ctx.accounts.redeem(invite.code, name, 'long-enough-password', 'cli');
  };
  const bob = await member('bob');
  const carol = await member('carol');
  const dave = await member('dave');
  expect((await t.api('/api/vault/set', { method: 'PUT', body: { set } })).status).toBe(200);
  const put = (name: string, token: string, body = 'YWdl') =>
    t.api(`/api/vault/entries/${name}`, { method: 'PUT', token, body: { ciphertext: armored(body), setVersion: 1 } });
  for (const name of ['ADA_KEY', 'SHARED_USE', 'SHARED_WRITE']) expect((await put(name, t.userToken)).status).toBe(200);
  expect((await put('BOB_KEY', bob.token)).status).toBe(200);
  expect((await t.api('/api/vault/entries/SHARED_USE/share', { body: { user: 'carol' } })).status).toBe(200);
  expect((await t.api('/api/vault/entries/SHARED_WRITE/share', { body: { user: 'carol', write: true } })).status).toBe(
    200,
  );
  return { tokens: { ada: t.userToken, bob: bob.token, carol: carol.token }, bob, carol, dave, put };
}

type Actor = 'ada' | 'bob' | 'carol';
type Entry = 'ADA_KEY' | 'BOB_KEY' | 'SHARED_USE' | 'SHARED_WRITE';
type Action = 'list' | 'get ciphertext' | 'use in session' | 'overwrite' | 'share' | 'delete';
const actions: Action[] = ['list', 'get ciphertext', 'use in session', 'overwrite', 'share', 'delete'];
const entries: Entry[] = ['ADA_KEY', 'BOB_KEY', 'SHARED_USE', 'SHARED_WRITE'];

/** The rule, written out: what each person may do with each entry. */
const allowed: Record<Actor, Record<Entry, Action[]>> = {
  // An owner may do everything with every entry, theirs or not.
  ada: { ADA_KEY: actions, BOB_KEY: actions, SHARED_USE: actions, SHARED_WRITE: actions },
  // A member: everything with their own, nothing with anyone else's that is not shared with them.
  bob: { ADA_KEY: [], BOB_KEY: actions, SHARED_USE: [], SHARED_WRITE: [] },
  // Shared for use: see, read, use. Shared for writing: also overwrite. Never delete or re-share.
  carol: {
    ADA_KEY: [],
    BOB_KEY: [],
    SHARED_USE: ['list', 'get ciphertext', 'use in session'],
    SHARED_WRITE: ['list', 'get ciphertext', 'use in session', 'overwrite'],
  },
};

describe("a vault entry's access list", () => {
  for (const actor of ['ada', 'bob', 'carol'] as const) {
    it(`lets ${actor} do exactly what the table allows with each entry`, async () => {
      const f = await fixture();
      const token = f.tokens[actor];
      const listed = (
        (await (await t.api('/api/vault/entries', { token })).json()) as { entries: EntryView[] }
      ).entries.map((e) => e.name);
      const got: string[] = [];
      const want: string[] = [];
      // Each action in order, delete last, so earlier rows still have the entry.
      for (const action of actions) {
        for (const entry of entries) {
          want.push(`${actor} ${allowed[actor][entry].includes(action) ? 'may' : 'may not'} ${action} ${entry}`);
          let ok: boolean;
          let status: number;
          if (action === 'list') {
            ok = listed.includes(entry);
          } else {
            const res =
              action === 'get ciphertext'
                ? await t.api(`/api/vault/entries/${entry}`, { token })
                : action === 'use in session'
                  ? await t.api('/api/sessions', {
                      token,
                      body: { harness: 'shell', prompt: 'echo hi', credentials: [entry] },
                    })
                  : action === 'overwrite'
                    ? await f.put(entry, token, 'b3ZlcndyaXR0ZW4')
                    : action === 'share'
                      ? await t.api(`/api/vault/entries/${entry}/share`, { token, body: { user: 'dave' } })
                      : await t.api(`/api/vault/entries/${entry}`, { method: 'DELETE', token });
            status = res.status;
            ok = res.ok;
            if (!ok)
              expect(await res.json(), `${actor} ${action} ${entry}`).toMatchObject({ code: 'credential_forbidden' });
            if (!ok) expect(status).toBe(403);
          }
          got.push(`${actor} ${ok ? 'may' : 'may not'} ${action} ${entry}`);
        }
      }
      expect(got).toEqual(want);
    }, 60_000);
  }

  it("refuses a member who names the owner's entry in a session with 403, and stores no session", async () => {
    const f = await fixture();
    const res = await t.api('/api/sessions', {
      token: f.bob.token,
      body: { harness: 'shell', prompt: 'printenv ADA_KEY', credentials: ['ADA_KEY'] },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      code: 'credential_forbidden',
      message: expect.stringContaining('ADA_KEY') as unknown,
    });
    const rows = await t.server.ctx.db.selectFrom('sessions').select('id').execute();
    expect(rows).toEqual([]);
    const log = (await (await t.api('/api/vault/log')).json()) as {
      log: { actor: string; action: string; entry: string | null }[];
    };
    expect(log.log).toContainEqual(
      expect.objectContaining({ actor: `user:${f.bob.user.id}`, action: 'entry.refused', entry: 'ADA_KEY' }),
    );
  });

  it("refuses a member who overwrites or deletes the owner's entry, and leaves it as it was", async () => {
    const f = await fixture();
    const before = (await (await t.api('/api/vault/entries/ADA_KEY')).json()) as EntryWithCiphertext;
    const overwrite = await f.put('ADA_KEY', f.bob.token, 'bWFsbG9yeQ');
    expect(overwrite.status).toBe(403);
    expect(await overwrite.json()).toMatchObject({ code: 'credential_forbidden' });
    expect((await t.api('/api/vault/entries/ADA_KEY', { method: 'DELETE', token: f.bob.token })).status).toBe(403);
    const after = (await (await t.api('/api/vault/entries/ADA_KEY')).json()) as EntryWithCiphertext;
    expect(after).toMatchObject({
      version: before.version,
      ciphertext: before.ciphertext,
      flagged: false,
      writtenBy: { name: 'ada', role: 'owner', client: 'cli' },
    });
  });

  it('shows who wrote an entry and flags one written by someone other than its creator', async () => {
    const f = await fixture();
    const written = await f.put('SHARED_WRITE', f.carol.token, 'Y2Fyb2w');
    expect(written.status).toBe(200);
    const reason = 'written by carol (member), not by its creator ada';
    const got = (await (await t.api('/api/vault/entries/SHARED_WRITE')).json()) as EntryWithCiphertext;
    expect(got).toMatchObject({
      version: 2,
      createdBy: { name: 'ada', role: 'owner' },
      writtenBy: { name: 'carol', role: 'member', client: 'cli', clientId: null },
      flagged: true,
      flagReason: reason,
      sharedWith: [{ name: 'carol', write: true }],
    });
    const listed = ((await (await t.api('/api/vault/entries')).json()) as { entries: EntryView[] }).entries;
    expect(listed.find((e) => e.name === 'SHARED_WRITE')).toMatchObject({ flagged: true, flagReason: reason });
    expect(listed.find((e) => e.name === 'ADA_KEY')).toMatchObject({
      flagged: false,
      flagReason: null,
      writtenBy: { name: 'ada' },
    });
    // Writing it again as its creator clears the flag; the history keeps both writers.
    expect(
      (
        await t.api('/api/vault/entries/SHARED_WRITE', {
          method: 'PUT',
          body: { ciphertext: armored('YWRh'), setVersion: 1, clientId: 'cli_1' },
        })
      ).status,
    ).toBe(200);
    expect(await (await t.api('/api/vault/entries/SHARED_WRITE')).json()).toMatchObject({
      flagged: false,
      writtenBy: { name: 'ada', clientId: 'cli_1' },
    });
    const { writes } = (await (await t.api('/api/vault/entries/SHARED_WRITE/writes')).json()) as {
      writes: { version: number; writerId: string; kind: string }[];
    };
    expect(writes.map((w) => [w.version, w.writerId, w.kind])).toEqual([
      [3, t.owner.id, 'put'],
      [2, f.carol.user.id, 'put'],
      [1, t.owner.id, 'put'],
    ]);
  });

  it("keeps the writer through a rewrap, so an owner re-encrypting a member's entry does not flag it", async () => {
    await fixture();
    expect(
      (await t.api('/api/vault/set', { method: 'PUT', body: { set: { ...set, version: 2, previousHash: 'h' } } }))
        .status,
    ).toBe(200);
    const { entries: all } = (await (await t.api('/api/vault/entries?ciphertext=1')).json()) as {
      entries: EntryWithCiphertext[];
    };
    const rewrap = await t.api('/api/vault/rewrap', {
      body: {
        setVersion: 2,
        entries: all.map((e) => ({ name: e.name, ciphertext: armored('cmV3cmFw'), baseVersion: e.version })),
      },
    });
    expect(rewrap.status).toBe(200);
    const bobs = (await (await t.api('/api/vault/entries/BOB_KEY')).json()) as EntryWithCiphertext;
    expect(bobs).toMatchObject({
      version: 2,
      setVersion: 2,
      flagged: false,
      writtenBy: { name: 'bob' },
      updatedBy: `user:${t.owner.id}`,
    });
    const { writes } = (await (await t.api('/api/vault/entries/BOB_KEY/writes')).json()) as {
      writes: { version: number; kind: string; writerId: string }[];
    };
    expect(writes.map((w) => [w.version, w.kind, w.writerId])).toEqual([
      [2, 'rewrap', t.owner.id],
      [1, 'put', bobs.createdBy!.id],
    ]);
  });

  it("drops, with the rewrap, an entry the owner's client could not open, so a member's junk cannot hold up a revocation", async () => {
    await fixture();
    expect(
      (await t.api('/api/vault/set', { method: 'PUT', body: { set: { ...set, version: 2, previousHash: 'h' } } }))
        .status,
    ).toBe(200);
    const { entries: all } = (await (await t.api('/api/vault/entries?ciphertext=1')).json()) as {
      entries: EntryWithCiphertext[];
    };
    const kept = all.filter((e) => e.name !== 'BOB_KEY');
    const both = await t.api('/api/vault/rewrap', {
      body: {
        setVersion: 2,
        entries: all.map((e) => ({ name: e.name, ciphertext: armored('cmV3cmFw'), baseVersion: e.version })),
        drop: ['BOB_KEY'],
      },
    });
    expect(both.status).toBe(400);
    const rewrap = await t.api('/api/vault/rewrap', {
      body: {
        setVersion: 2,
        entries: kept.map((e) => ({ name: e.name, ciphertext: armored('cmV3cmFw'), baseVersion: e.version })),
        drop: ['BOB_KEY'],
      },
    });
    expect(rewrap.status).toBe(200);
    expect((await t.api('/api/vault/entries/BOB_KEY')).status).toBe(404);
    const { log } = (await (await t.api('/api/vault/log?limit=50')).json()) as {
      log: { action: string; entry: string | null; detail: string | null }[];
    };
    expect(log.find((l) => l.action === 'entry.deleted' && l.entry === 'BOB_KEY')?.detail).toContain(
      'dropped by the rewrap',
    );
  });

  it('refuses a client id that is not in the current recipient set', async () => {
    await fixture();
    const res = await t.api('/api/vault/entries/ADA_KEY', {
      method: 'PUT',
      body: { ciphertext: armored(), setVersion: 1, clientId: 'cli_made_up' },
    });
    expect(res.status).toBe(400);
  });

  it('takes a person off an entry: unshared, they can neither see nor use it, and only the creator or an owner may unshare', async () => {
    const f = await fixture();
    expect(
      (await t.api('/api/vault/entries/SHARED_USE/share/carol', { method: 'DELETE', token: f.bob.token })).status,
    ).toBe(403);
    expect(
      (await t.api('/api/vault/entries/SHARED_USE/share/carol', { method: 'DELETE', token: f.carol.token })).status,
    ).toBe(403);
    const unshared = await t.api('/api/vault/entries/SHARED_USE/share/carol', { method: 'DELETE' });
    expect(await unshared.json()).toMatchObject({ name: 'SHARED_USE', sharedWith: [] });
    expect((await t.api('/api/vault/entries/SHARED_USE', { token: f.carol.token })).status).toBe(403);
    const listed = (
      (await (await t.api('/api/vault/entries', { token: f.carol.token })).json()) as { entries: EntryView[] }
    ).entries;
    expect(listed.map((e) => e.name)).toEqual(['SHARED_WRITE']);
    expect((await t.api('/api/vault/entries/SHARED_USE/share/carol', { method: 'DELETE' })).status).toBe(404);
    expect((await t.api('/api/vault/entries/SHARED_USE/share', { body: { user: 'nobody' } })).status).toBe(404);
  });

  it("forgets an entry's access list when it is deleted, so a new entry of that name starts private", async () => {
    const f = await fixture();
    expect((await t.api('/api/vault/entries/SHARED_USE', { method: 'DELETE' })).status).toBe(204);
    expect((await f.put('SHARED_USE', t.userToken)).status).toBe(200);
    expect((await t.api('/api/vault/entries/SHARED_USE', { token: f.carol.token })).status).toBe(403);
  });

  it('checks again before session.start: an entry unshared while its session waited refuses the session and sends no ciphertext', async () => {
    const f = await fixture();
    // carol's own device, a vault recipient, paired but not yet connected: her session waits for it.
    const pairing = await t.server.ctx.accounts.createPairingToken(f.carol.user.id);
    const device = await t.server.ctx.accounts.pair(pairing.code, 'carol-pi', recipient);
    const created = await t.api('/api/sessions', {
      token: f.carol.token,
      body: { harness: 'shell', prompt: 'echo hi', credentials: ['SHARED_USE'], deviceId: device.deviceId },
    });
    expect(created.status).toBe(201);
    const session = (await created.json()) as SessionView;
    expect(session.status).toBe('queued');
    expect((await t.api('/api/vault/entries/SHARED_USE/share/carol', { method: 'DELETE' })).status).toBe(200);

    const fake = await FakeDevice.connect(
      t.server,
      device.deviceId,
      device.token,
      capabilities({ allowlist: ['echo'] }),
    );
    const refused = await until(
      async () => {
        const s = (await (await t.api(`/api/sessions/${session.id}`)).json()) as SessionView;
        return s.status === 'refused' || s.status === 'failed' ? s : null;
      },
      20_000,
      'the session to be refused',
    );
    expect(refused).toMatchObject({ status: 'refused', errorCode: 'credential_forbidden' });
    expect(fake.received.filter((e) => e.type === 'session.start')).toEqual([]);
    const log = (await (await t.api('/api/vault/log')).json()) as {
      log: { action: string; entry: string | null; detail: string | null }[];
    };
    expect(log.log.filter((l) => l.action === 'entry.sent')).toEqual([]);
    expect(log.log).toContainEqual(
      expect.objectContaining({ action: 'entry.refused', entry: 'SHARED_USE', detail: `use in session ${session.id}` }),
    );
    fake.close();
  }, 60_000);

  it('sends the ciphertext when the requester is still allowed at dispatch', async () => {
    const f = await fixture();
    const pairing = await t.server.ctx.accounts.createPairingToken(f.carol.user.id);
    const device = await t.server.ctx.accounts.pair(pairing.code, 'carol-pi', recipient);
    const fake = await FakeDevice.connect(
      t.server,
      device.deviceId,
      device.token,
      capabilities({ allowlist: ['echo'] }),
    );
    const created = await t.api('/api/sessions', {
      token: f.carol.token,
      body: { harness: 'shell', prompt: 'echo hi', credentials: ['SHARED_USE'], deviceId: device.deviceId },
    });
    expect(created.status).toBe(201);
    const start = await fake.next((e) => e.type === 'session.start', 20_000);
    expect((start.payload as { credentials: { name: string }[] }).credentials.map((c) => c.name)).toEqual([
      'SHARED_USE',
    ]);
    fake.close();
  }, 60_000);
});

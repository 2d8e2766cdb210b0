import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ledgerCheckpointListSchema,
  ledgerCheckpointMessage,
  type Envelope,
  type LedgerCheckpoint,
} from '@fabric/protocol';
import type { Logger } from '../src/log.js';
import { FakeDevice, testServer } from './harness.js';

type TestServer = Awaited<ReturnType<typeof testServer>>;
let current: TestServer | null = null;
const devices: FakeDevice[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const d of devices.splice(0)) d.ws.terminate();
  await current?.server.close();
  current = null;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A server log that remembers its warnings. */
function recordingLog(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    info() {},
    warn: (m) => {
      warnings.push(m);
    },
    error() {},
  };
}

async function setup(opts: Parameters<typeof testServer>[0] = {}) {
  const log = recordingLog();
  current = await testServer({ log, ...opts });
  return { t: current, log };
}

async function connect(t: TestServer, name = 'alpha') {
  const paired = await t.pairDevice(name);
  const device = await FakeDevice.connect(t.server, paired.deviceId, paired.token);
  devices.push(device);
  return { device, token: paired.token, deviceId: paired.deviceId };
}

/** A device's ledger key: signs checkpoints the way the daemon does. */
function ledgerKey() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'jwk' }).x!;
  return {
    publicKey: raw,
    checkpoint(deviceId: string, seq: number, head = headOf(seq), at = 1_763_715_600_000 + seq): LedgerCheckpoint {
      return { seq, head, at, publicKey: raw, signature: signWith(privateKey, deviceId, { seq, head, at }) };
    },
  };
}

function signWith(key: KeyObject, deviceId: string, body: { seq: number; head: string; at: number }): string {
  return sign(null, Buffer.from(ledgerCheckpointMessage(deviceId, body), 'utf8'), key).toString('base64url');
}

const headOf = (seq: number, variant = 'a') => (variant + seq.toString(16)).padEnd(64, '0');

let corr = 0;
/** Send a checkpoint and wait for the answer carrying its corrId (an ack or an error). */
async function send(device: FakeDevice, cp: LedgerCheckpoint): Promise<Envelope> {
  const corrId = `lcp_test_${++corr}`;
  device.send({ corrId, type: 'ledger.checkpoint', direction: 'to_cloud', ts: Date.now(), payload: cp });
  return device.next((e) => e.corrId === corrId);
}

async function rows(t: TestServer, deviceId: string) {
  return t.server.ctx.db
    .selectFrom('ledger_checkpoints')
    .selectAll()
    .where('device_id', '=', deviceId)
    .orderBy('seq')
    .execute();
}

async function readLedger(t: TestServer, deviceId: string, token?: string | null, query = '') {
  const res = await t.api(`/api/devices/${deviceId}/ledger${query}`, { token });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('a device anchors its ledger checkpoints over its socket', () => {
  it('keeps a valid checkpoint, pins its key, and acks it with the same corrId', async () => {
    const { t } = await setup();
    const { device, deviceId } = await connect(t);
    const key = ledgerKey();
    const cp = key.checkpoint(deviceId, 5);

    const answer = await send(device, cp);
    expect(answer).toMatchObject({ type: 'ledger.checkpoint_ack', direction: 'to_device', payload: { seq: 5 } });
    expect(await rows(t, deviceId)).toEqual([
      expect.objectContaining({ seq: 5, head: cp.head, at: cp.at, signature: cp.signature }),
    ]);
    expect(await t.server.ctx.db.selectFrom('ledger_anchors').selectAll().execute()).toEqual([
      expect.objectContaining({ device_id: deviceId, public_key: key.publicKey, max_seq: 5 }),
    ]);
  });

  it('refuses a bad signature with bad_request, stores nothing, warns, and keeps the socket open', async () => {
    const { t, log } = await setup();
    const { device, deviceId } = await connect(t);
    const key = ledgerKey();
    const forged = { ...key.checkpoint(deviceId, 5), head: headOf(5, 'f') };

    expect(await send(device, forged)).toMatchObject({
      type: 'error',
      payload: { code: 'bad_request', message: expect.stringContaining('signature') },
    });
    // Signed for another device: the device id is part of what is signed.
    expect(await send(device, key.checkpoint('dev_someoneElse0000', 5))).toMatchObject({
      type: 'error',
      payload: { code: 'bad_request' },
    });
    expect(await rows(t, deviceId)).toEqual([]);
    expect(await t.server.ctx.db.selectFrom('ledger_anchors').selectAll().execute()).toEqual([]);
    expect(log.warnings.some((w) => w.includes(deviceId) && w.includes('checkpoint 5'))).toBe(true);

    expect(await send(device, key.checkpoint(deviceId, 5))).toMatchObject({ type: 'ledger.checkpoint_ack' });
    expect(device.closeCode).toBeNull();
  });

  it('refuses a checkpoint signed by a second key once one is pinned', async () => {
    const { t } = await setup();
    const { device, deviceId } = await connect(t);
    expect(await send(device, ledgerKey().checkpoint(deviceId, 1))).toMatchObject({ type: 'ledger.checkpoint_ack' });

    const answer = await send(device, ledgerKey().checkpoint(deviceId, 2));
    expect(answer).toMatchObject({
      type: 'error',
      payload: { code: 'ledger_conflict', message: expect.stringContaining('different ledger key') },
    });
    expect((await rows(t, deviceId)).map((r) => r.seq)).toEqual([1]);
  });

  it('refuses the same seq with a different head', async () => {
    const { t, log } = await setup();
    const { device, deviceId } = await connect(t);
    const key = ledgerKey();
    await send(device, key.checkpoint(deviceId, 3));

    const answer = await send(device, key.checkpoint(deviceId, 3, headOf(3, 'b')));
    expect(answer).toMatchObject({
      type: 'error',
      payload: { code: 'ledger_conflict', message: expect.stringContaining('rewritten') },
    });
    expect((await rows(t, deviceId)).map((r) => r.head)).toEqual([headOf(3)]);
    expect(log.warnings.some((w) => w.includes('ledger_conflict'))).toBe(true);
  });

  it('refuses a new checkpoint below the highest one: the ledger went backwards', async () => {
    const { t } = await setup();
    const { device, deviceId } = await connect(t);
    const key = ledgerKey();
    await send(device, key.checkpoint(deviceId, 2));
    await send(device, key.checkpoint(deviceId, 10));

    const answer = await send(device, key.checkpoint(deviceId, 7));
    expect(answer).toMatchObject({
      type: 'error',
      payload: { code: 'ledger_conflict', message: expect.stringContaining('went backwards') },
    });
    expect((await rows(t, deviceId)).map((r) => r.seq)).toEqual([2, 10]);
  });

  it('acks an identical resend again and keeps one row', async () => {
    const { t } = await setup();
    const { device, deviceId } = await connect(t);
    const key = ledgerKey();
    const cp = key.checkpoint(deviceId, 4);
    await send(device, cp);
    await send(device, key.checkpoint(deviceId, 8));

    expect(await send(device, cp)).toMatchObject({ type: 'ledger.checkpoint_ack', payload: { seq: 4 } });
    expect(await send(device, cp)).toMatchObject({ type: 'ledger.checkpoint_ack', payload: { seq: 4 } });
    expect((await rows(t, deviceId)).map((r) => r.seq)).toEqual([4, 8]);
  });
});

describe('GET /api/devices/:id/ledger', () => {
  it('shows the owner the pinned key and every checkpoint oldest first, from afterSeq on', async () => {
    const { t } = await setup();
    const { device, deviceId } = await connect(t);
    const key = ledgerKey();
    for (const seq of [1, 5, 9]) await send(device, key.checkpoint(deviceId, seq));

    const { status, body } = await readLedger(t, deviceId);
    expect(status).toBe(200);
    const list = ledgerCheckpointListSchema.parse(body);
    expect(list).toMatchObject({ deviceId, publicKey: key.publicKey });
    expect(list.checkpoints.map((c) => c.seq)).toEqual([1, 5, 9]);
    expect(list.checkpoints[0]).toEqual({ ...key.checkpoint(deviceId, 1), receivedAt: expect.any(Number) });

    const later = ledgerCheckpointListSchema.parse((await readLedger(t, deviceId, undefined, '?afterSeq=1')).body);
    expect(later.checkpoints.map((c) => c.seq)).toEqual([5, 9]);
    const page = ledgerCheckpointListSchema.parse(
      (await readLedger(t, deviceId, undefined, '?afterSeq=1&limit=1')).body,
    );
    expect(page.checkpoints.map((c) => c.seq)).toEqual([5]);
    expect((await readLedger(t, deviceId, undefined, '?afterSeq=-1')).body).toMatchObject({ code: 'bad_request' });
  });

  it('answers a paired device with no checkpoints yet with no key and an empty list', async () => {
    const { t } = await setup();
    const { deviceId } = await t.pairDevice('quiet');
    expect((await readLedger(t, deviceId)).body).toEqual({ deviceId, publicKey: null, checkpoints: [] });
  });

  it("lets the device read its own checkpoints with its token, but not another device's", async () => {
    const { t } = await setup();
    const alpha = await connect(t, 'alpha');
    const beta = await connect(t, 'beta');
    await send(alpha.device, ledgerKey().checkpoint(alpha.deviceId, 1));

    const own = await readLedger(t, alpha.deviceId, alpha.token);
    expect(own.status).toBe(200);
    expect(ledgerCheckpointListSchema.parse(own.body).checkpoints).toHaveLength(1);

    expect(await readLedger(t, alpha.deviceId, beta.token)).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect(await readLedger(t, 'dev_doesnotexist000', beta.token)).toMatchObject({
      status: 403,
      body: { code: 'forbidden' },
    });
  });

  it('refuses a reader without a token, and a person who is not an owner', async () => {
    const { t } = await setup();
    const { deviceId } = await t.pairDevice('alpha');
    expect(await readLedger(t, deviceId, null)).toMatchObject({ status: 401, body: { code: 'token_missing' } });
    expect(await readLedger(t, deviceId, 'not-a-token')).toMatchObject({
      status: 401,
      body: { code: 'token_invalid' },
    });

    await t.server.ctx.db
      .insertInto('users')
      .values({ id: 'usr_member', name: 'bob', role: 'member', password_hash: null, created_at: 1 })
      .execute();
    const member = await t.server.ctx.accounts.signIn({ id: 'usr_member', name: 'bob', role: 'member' }, 'cli');
    expect(await readLedger(t, deviceId, member.token)).toMatchObject({ status: 403, body: { code: 'forbidden' } });
  });

  it('answers device_not_found for a device that does not exist', async () => {
    const { t } = await setup();
    expect(await readLedger(t, 'dev_doesnotexist000')).toMatchObject({
      status: 404,
      body: { code: 'device_not_found' },
    });
  });

  it("keeps a revoked device's checkpoints readable by the owner but not by the revoked device", async () => {
    const { t } = await setup();
    const { device, deviceId, token } = await connect(t);
    await send(device, ledgerKey().checkpoint(deviceId, 1));
    expect((await t.api(`/api/devices/${deviceId}/revoke`, { method: 'POST', body: {} })).status).toBe(200);

    expect(ledgerCheckpointListSchema.parse((await readLedger(t, deviceId)).body).checkpoints).toHaveLength(1);
    expect(await readLedger(t, deviceId, token)).toMatchObject({ status: 401, body: { code: 'device_revoked' } });
  });

  it('still holds the pinned key and the checkpoints after a restart on the same data dir', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fabric-ledger-'));
    dirs.push(dataDir);
    const { t: first } = await setup({ dataDir });
    const { device, deviceId } = await connect(first);
    const key = ledgerKey();
    await send(device, key.checkpoint(deviceId, 1));
    await send(device, key.checkpoint(deviceId, 2));
    const before = (await readLedger(first, deviceId)).body;
    device.ws.terminate();
    await first.server.close();
    current = null;

    const { t: second } = await setup({ dataDir });
    expect((await readLedger(second, deviceId)).body).toEqual(before);
    // The pin survived too: the old key goes on, another key is refused.
    const again = await FakeDevice.connect(
      second.server,
      deviceId,
      (await second.server.ctx.tokens.sign('device', { sub: deviceId })).token,
    );
    devices.push(again);
    expect(await send(again, key.checkpoint(deviceId, 3))).toMatchObject({ type: 'ledger.checkpoint_ack' });
    expect(await send(again, ledgerKey().checkpoint(deviceId, 4))).toMatchObject({
      type: 'error',
      payload: { code: 'ledger_conflict' },
    });
  });
});

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approvalDecisionRequestSchema,
  cancelSessionRequestSchema,
  clientLogRequestSchema,
  createCardRequestSchema,
  createSessionRequestSchema,
  deviceShareRequestSchema,
  enrolIdentityRequestSchema,
  envelopeTypes,
  inviteRequestSchema,
  loginRequestSchema,
  pairRequestSchema,
  parseEnvelope,
  putEntryRequestSchema,
  putRecipientSetRequestSchema,
  redeemRequestSchema,
  rewrapRequestSchema,
  sessionInputRequestSchema,
  shareEntryRequestSchema,
  updateCardRequestSchema,
  updateDeviceRequestSchema,
  type Envelope,
  type SessionView,
} from '@fabric/protocol';
import type { z } from 'zod';
import { subscriptionRequestSchema, unsubscribeRequestSchema } from '../src/push/subscriptions.js';
import { FakeDevice, testServer, until } from './harness.js';

/**
 * Property-based: bad input, generated, against a real control plane in
 * this process. Every HTTP body schema gets wrong types, NUL and control
 * characters, huge numbers, deep nesting, missing and extra fields; every
 * device frame type gets the same on a real device socket. Each answer must
 * be a 4xx `{code, message}` (or an `error` envelope with a code), the
 * server must stay up, and the store must be exactly as it was. A fixed seed
 * keeps runs reproducible; fast-check prints the seed and the shrunk
 * counterexample on failure.
 */
const SEED = 20_261_202;
const RUNS = 40;
const MAX_FRAME = 1024 * 1024;

type TestServer = Awaited<ReturnType<typeof testServer>>;
let t: TestServer;
let device: FakeDevice;
let sessionId: string;
let cardId: string;

beforeAll(async () => {
  t = await testServer({
    mode: 'cloud',
    push: { subject: 'mailto:ops@example.com' },
    gateway: { maxFrameBytes: MAX_FRAME, hardMaxPayload: 4 * MAX_FRAME, deadAfterMs: 3_600_000 },
  });
  const paired = await t.pairDevice('alpha');
  device = await FakeDevice.connect(t.server, paired.deviceId, paired.token);
  const res = await t.api('/api/sessions', {
    body: { harness: 'shell', prompt: 'sleep 600', deviceId: device.deviceId },
  });
  sessionId = ((await res.json()) as SessionView).id;
  await device.next((e) => e.type === 'session.start');
  device.send({
    corrId: sessionId,
    type: 'session.ack',
    direction: 'to_cloud',
    ts: Date.now(),
    payload: { sessionId, pid: 42 },
  });
  await until(
    async () =>
      (await t.api(`/api/sessions/${sessionId}`).then((r) => r.json() as Promise<SessionView>)).status === 'running',
  );
  const card = await t.api('/api/board/cards', { body: { title: 'fuzz', prompt: 'echo hi' } });
  cardId = ((await card.json()) as { id: string }).id;
  await t.server.ctx.writer.drained();
});

afterAll(async () => {
  device?.ws.terminate();
  await t?.server.close();
});

/** Every row of every table, so "nothing persisted" also covers updates. */
async function snapshot(): Promise<string> {
  const db = t.server.ctx.db;
  await t.server.ctx.writer.drained();
  // Through Kysely's introspection, so the same snapshot works on SQLite and PostgreSQL; rows sorted, as
  // PostgreSQL returns an updated row in a new place.
  const tables = (await db.introspection.getTables({ withInternalKyselyTables: true })).map((t) => t.name).sort();
  const out: Record<string, string[]> = {};
  for (const name of tables)
    out[name] = (await sql`SELECT * FROM ${sql.table(name)}`.execute(db)).rows.map((r) => JSON.stringify(r)).sort();
  return JSON.stringify(out);
}

// ---- generators -------------------------------------------------------------

/** JSON text nested `depth` deep; JSON.stringify itself would overflow on the deepest. */
const deepText = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);
const deepObject = (depth: number): unknown => {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};

const nastyString = fc.oneof(
  fc.constantFrom(
    'a\u0000b',
    '\u0000',
    '\u001b[2J\u001b]0;owned\u0007',
    'two\nlines',
    'rtl\u202egnp.exe',
    'c1\u009b',
    '\u2066iso',
    '',
    ' ',
  ),
  fc.string({ maxLength: 20 }).map((s) => `${s}\u0000`),
  fc.string({ unit: 'binary', maxLength: 40 }),
);
const nastyNumber = fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER, 2 ** 64, -1, 0.5, -0, 1e-300);
const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  nastyNumber,
  fc.constantFrom(null, true, false, [], {}, deepObject(200), [[[[[['x']]]]]]),
  fc.constant('x'.repeat(200_001)),
  fc.array(nastyString, { maxLength: 4 }),
  fc.dictionary(nastyString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);

/** Paths of every value inside `v` (objects and arrays, not the root). */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof v !== 'object' || v === null) return [];
  const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  return entries.flatMap(([k, x]) => [[...prefix, k], ...paths(x, [...prefix, k])]);
}

function setAt(root: unknown, path: (string | number)[], value: unknown, remove: boolean): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove && !Array.isArray(node)) delete node[last];
  else node[last] = value;
  return copy;
}

/** Bad variants of a good value: one field replaced or removed, a field added, or not an object at all. */
function badVariants(base: unknown): fc.Arbitrary<unknown> {
  const where = paths(base);
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc
        .tuple(fc.constantFrom(...where), nastyValue, fc.boolean())
        .map(([p, v, remove]) => setAt(base, p, v, remove)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          nastyString.filter((k) => k.length > 0),
          nastyValue,
        )
        .map(([k, v]) => ({ ...(base as object), [k]: v })),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(nastyString, nastyNumber, fc.constantFrom(null, [], true), fc.jsonValue({ maxDepth: 3 })),
    },
  );
}

// ---- HTTP -------------------------------------------------------------------

interface Route {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: () => string;
  schema: z.ZodType | null;
  base: unknown;
}

const armored = '-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n';
const recipient = { id: 'cli_1', kind: 'cli', recipient: 'age1qqqq', label: 'laptop', signer: null, addedAt: 1 };
const webauthn = {
  id: 'abc',
  rawId: 'abc',
  type: 'public-key',
  clientExtensionResults: {},
  response: { clientDataJSON: 'e30', attestationObject: 'oA', authenticatorData: 'AA', signature: 'AA' },
};

/** Every route that takes a JSON body, with a body it would accept and the schema it is checked against. */
const routes: Route[] = [
  {
    method: 'POST',
    path: () => '/api/auth/redeem',
    schema: redeemRequestSchema,
    base: { code: 'abcdefgh12', name: 'bob', password: 'correct horse' },
  },
  { method: 'POST', path: () => '/api/auth/login', schema: loginRequestSchema, base: { name: 'ada', password: 'pw' } },
  { method: 'POST', path: () => '/api/auth/invites', schema: inviteRequestSchema, base: { role: 'member' } },
  {
    method: 'POST',
    path: () => '/api/devices/pair',
    schema: pairRequestSchema,
    base: { token: 'x'.repeat(16), name: 'beta' },
  },
  {
    method: 'PATCH',
    path: () => `/api/devices/${device.deviceId}`,
    schema: updateDeviceRequestSchema,
    base: { name: 'alpha2', draining: false, priority: 1 },
  },
  {
    method: 'POST',
    path: () => `/api/devices/${device.deviceId}/shares`,
    schema: deviceShareRequestSchema,
    base: { user: 'bob' },
  },
  {
    method: 'POST',
    path: () => '/api/sessions',
    schema: createSessionRequestSchema,
    base: {
      harness: 'shell',
      prompt: 'echo hi',
      deviceId: 'alpha',
      labels: { k: 'v' },
      cwd: '/tmp',
      credentials: ['TOKEN'],
      permissionMode: 'ask',
      model: 'm',
      resumeFrom: 'ses_x',
    },
  },
  {
    method: 'POST',
    path: () => `/api/sessions/${sessionId}/input`,
    schema: sessionInputRequestSchema,
    base: { data: 'y\n', eof: false },
  },
  {
    method: 'POST',
    path: () => `/api/sessions/${sessionId}/approvals/req_1`,
    schema: approvalDecisionRequestSchema,
    base: { decision: 'allow', reason: 'ok' },
  },
  {
    method: 'POST',
    path: () => `/api/sessions/${sessionId}/cancel`,
    schema: cancelSessionRequestSchema,
    base: { reason: 'done' },
  },
  {
    method: 'POST',
    path: () => '/api/board/cards',
    schema: createCardRequestSchema,
    base: {
      title: 't',
      prompt: 'echo hi',
      harness: 'shell',
      deviceId: null,
      permissionMode: 'ask',
      credentials: [],
      column: 'backlog',
    },
  },
  {
    method: 'PATCH',
    path: () => `/api/board/cards/${cardId}`,
    schema: updateCardRequestSchema,
    base: { title: 't2', prompt: 'p', harness: 'shell', deviceId: null, column: 'review', position: 2 },
  },
  {
    method: 'PUT',
    path: () => '/api/vault/set',
    schema: putRecipientSetRequestSchema,
    base: {
      set: {
        vaultId: 'vlt_1',
        version: 1,
        postQuantum: false,
        recipients: [recipient],
        previousHash: null,
        createdAt: 1,
        signedBy: 'cli_1',
        signature: 'sig',
      },
    },
  },
  {
    method: 'PUT',
    path: () => '/api/vault/entries/TOKEN',
    schema: putEntryRequestSchema,
    base: { ciphertext: armored, setVersion: 1, baseVersion: null },
  },
  {
    method: 'POST',
    path: () => '/api/vault/entries/TOKEN/share',
    schema: shareEntryRequestSchema,
    base: { user: 'bob', write: false },
  },
  {
    method: 'POST',
    path: () => '/api/vault/rewrap',
    schema: rewrapRequestSchema,
    base: { setVersion: 1, entries: [{ name: 'TOKEN', ciphertext: armored, baseVersion: 1 }], rotate: ['TOKEN'] },
  },
  {
    method: 'POST',
    path: () => '/api/vault/identities',
    schema: enrolIdentityRequestSchema,
    base: {
      id: 'cli_2',
      kind: 'cli',
      label: 'laptop',
      wrappedByPassphrase: armored,
      wrappedByPasskey: null,
      canary: null,
      prfSalt: null,
      credentialId: null,
    },
  },
  {
    method: 'POST',
    path: () => '/api/vault/log',
    schema: clientLogRequestSchema,
    base: { action: 'entry.read', entry: 'TOKEN' },
  },
  {
    method: 'POST',
    path: () => '/api/push/subscriptions',
    schema: subscriptionRequestSchema,
    base: { endpoint: 'https://push.example.com/x', expirationTime: null, keys: { p256dh: 'BA', auth: 'AA' } },
  },
  {
    method: 'DELETE',
    path: () => '/api/push/subscriptions',
    schema: unsubscribeRequestSchema,
    base: { endpoint: 'https://push.example.com/x' },
  },
  // The passkey ceremonies' schemas live with their routes; a body missing or mangling `response` is never one.
  {
    method: 'POST',
    path: () => '/api/auth/passkeys/registration/verify',
    schema: null,
    base: { response: webauthn, label: 'phone' },
  },
  {
    method: 'POST',
    path: () => '/api/auth/passkeys/authentication/verify',
    schema: null,
    base: { response: webauthn },
  },
];

/** Raw bodies no JSON parser or schema should take. */
const rawBodies = fc.constantFrom(
  '{"prompt":',
  'nul\u0000',
  '',
  deepText(50_000),
  deepText(20_000, '{"a":', '}').replace(/}$/, '0}'),
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"x":1}}}',
  `"${'x'.repeat(2_100_000)}"`,
);

function bodyFor(route: Route): fc.Arbitrary<{ raw: string }> {
  const bad = badVariants(route.base).filter((b) => {
    if (route.schema) return !route.schema.safeParse(b).success;
    return (
      typeof b !== 'object' ||
      b === null ||
      Array.isArray(b) ||
      JSON.stringify((b as { response?: unknown }).response) !== JSON.stringify(webauthn)
    );
  });
  return fc.oneof(
    { weight: 6, arbitrary: bad.map((b) => ({ raw: JSON.stringify(b) ?? 'null' })) },
    { weight: 1, arbitrary: rawBodies.map((raw) => ({ raw })) },
  );
}

describe('fuzzing every HTTP body schema', () => {
  it('answers each bad body with a 4xx {code, message}, stays up, and persists nothing', async () => {
    const before = await snapshot();
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(bodyFor(route), async ({ raw }) => {
          const res = await t.api(route.path(), { method: route.method, body: raw });
          const text = await res.text();
          const where = `${route.method} ${route.path()} -> ${res.status} ${text.slice(0, 200)}`;
          expect(res.status, where).toBeGreaterThanOrEqual(400);
          expect(res.status, where).toBeLessThan(500);
          const body = JSON.parse(text) as { code?: unknown; message?: unknown };
          expect(typeof body.code, where).toBe('string');
          expect(typeof body.message, where).toBe('string');
          expect(await snapshot(), where).toBe(before);
        }),
        { seed: SEED, numRuns: RUNS },
      );
      expect((await t.api('/healthz')).status).toBe(200);
    }
  });
});

// ---- device frames ----------------------------------------------------------

const fixtureLines = readFileSync(
  fileURLToPath(new URL('../../protocol/fixtures/envelopes.valid.ndjson', import.meta.url)),
  'utf8',
)
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Envelope);

/** One good envelope of `type`, as a device would send it. */
function baseFrame(type: string): Record<string, unknown> {
  const env = fixtureLines.find((e) => e.type === type);
  if (!env) throw new Error(`no fixture for ${type}`);
  return { ...env, direction: 'to_cloud' };
}

/**
 * Frames that must be refused: schema-invalid variants of each type, plus
 * well-formed ones a device may not send or that name a session it does not
 * run (the fixtures' session ids are not in this store). Well-formed hello,
 * heartbeat and checkpoint frames are left out: those are accepted by design.
 */
const ACCEPTED_WHEN_WELL_FORMED = new Set(['hello', 'heartbeat', 'ledger.checkpoint']);

function frameFor(type: string): fc.Arbitrary<{ raw: string | Buffer }> {
  const base = baseFrame(type);
  const bad = badVariants(base).filter((f) => {
    if (parseEnvelope(f).ok) return !ACCEPTED_WHEN_WELL_FORMED.has(type) && JSON.stringify(f).includes('AbCdEfGh');
    return true;
  });
  return fc.oneof(
    { weight: 6, arbitrary: bad.map((f) => ({ raw: JSON.stringify(f) ?? 'null' })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<string | Buffer>(
          '{"type":',
          'nul\u0000',
          deepText(50_000),
          JSON.stringify({ ...base, payload: '@' }).replace('"@"', deepText(20_000, '{"a":', '}').replace(/}$/, '0}')),
          JSON.stringify({ ...base, pad: 'x'.repeat(MAX_FRAME) }),
          Buffer.from([0xff, 0x00, 0x1b]),
        )
        .map((raw) => ({ raw })),
    },
  );
}

describe('fuzzing every device frame type', () => {
  it('answers each bad frame with an error envelope and a code, keeps the socket, and persists nothing', async () => {
    const before = await snapshot();
    for (const type of envelopeTypes) {
      await fc.assert(
        fc.asyncProperty(frameFor(type), async ({ raw }) => {
          const answer = device.next((e) => e.type === 'error', 10_000);
          device.sendRaw(raw);
          const err = (await answer) as Extract<Envelope, { type: 'error' }>;
          expect(err.payload.code.length, `${type}: ${String(raw).slice(0, 200)}`).toBeGreaterThan(0);
          expect(await snapshot(), `${type}: ${String(raw).slice(0, 200)} -> ${err.payload.code}`).toBe(before);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    }
    expect(device.closeCode).toBeNull();
    expect((await t.api('/healthz')).status).toBe(200);

    // The same socket still carries good output into the store.
    device.output(sessionId, 'still here\n');
    await until(
      async () => {
        const { events } = await t
          .api(`/api/sessions/${sessionId}/events`)
          .then((r) => r.json() as Promise<{ events: { data: string | null }[] }>);
        return events.some((e) => e.data === 'still here\n');
      },
      10_000,
      'good output after the fuzzing',
    );

    // A frame past the hard limit closes the socket (1009), and the server stays up.
    device.sendRaw('x'.repeat(4 * MAX_FRAME + 1));
    expect(await device.closed).toBe(1009);
    expect((await t.api('/healthz')).status).toBe(200);
  });
});

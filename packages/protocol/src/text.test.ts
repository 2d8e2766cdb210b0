import { describe, expect, it } from 'vitest';
import {
  capabilityDigestSchema,
  createCardRequestSchema,
  createSessionRequestSchema,
  envelopeSchema,
  jsonWithin,
  pairRequestSchema,
  parseEnvelope,
  recipientEntrySchema,
  sessionInputRequestSchema,
  updateDeviceRequestSchema,
  type CapabilityDigest,
} from './index.js';

const digest: CapabilityDigest = {
  hostname: 'pi',
  platform: 'linux',
  arch: 'arm64',
  cpus: 4,
  ramTotal: 8 * 2 ** 30,
  ramFree: 2 ** 30,
  load: [0.5, 0.4, 0.3],
  harnesses: [{ name: 'shell', version: '1.0' }],
  labels: { room: 'attic' },
  allowlist: ['echo'],
  daemonVersion: '0.1.0',
  runningSessions: 0,
  isolation: 'bwrap',
};

function nest(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

function firstIssue(result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) {
  const issue = result.error?.issues[0];
  return issue ? `${issue.path.join('.')}: ${issue.message}` : null;
}

describe('text that reaches a process refuses NUL', () => {
  it.each([
    ['prompt', { harness: 'shell', prompt: 'echo a\u0000b' }],
    ['cwd', { harness: 'shell', prompt: 'x', cwd: '/tmp/\u0000' }],
    ['model', { harness: 'claude', prompt: 'x', model: 'opus\u0000' }],
    ['resumeFrom', { harness: 'claude', prompt: 'x', resumeFrom: 'ses_\u0000' }],
    ['credentials.0', { harness: 'shell', prompt: 'x', credentials: ['A\u0000'] }],
  ])('a session request with NUL in %s is refused naming the field', (field, body) => {
    const result = createSessionRequestSchema.safeParse(body);
    expect(result.success).toBe(false);
    expect(firstIssue(result)).toMatch(new RegExp(`^${field.replace('.', '\\.')}: must not contain`));
  });

  it('still takes prompts with tabs, newlines and escapes, which are content', () => {
    expect(
      createSessionRequestSchema.safeParse({ harness: 'shell', prompt: 'printf "a\\tb"\n\u001b[1m' }).success,
    ).toBe(true);
  });

  it('refuses NUL in session input but takes other bytes', () => {
    expect(firstIssue(sessionInputRequestSchema.safeParse({ data: 'y\u0000' }))).toBe('data: must not contain NUL');
    expect(sessionInputRequestSchema.safeParse({ data: 'y\n\u0004' }).success).toBe(true);
  });
});

describe('names and labels refuse every control character and bidi override', () => {
  const bad = [
    'ESC \u001b[31m',
    'NUL \u0000',
    'newline\nname',
    'DEL \u007f',
    'C1 \u009b',
    'rtl \u202e',
    'isolate \u2066',
  ];

  it.each(bad)('a device name %j is refused at pairing and at rename', (name) => {
    expect(pairRequestSchema.safeParse({ token: 'x'.repeat(16), name }).success).toBe(false);
    expect(updateDeviceRequestSchema.safeParse({ name }).success).toBe(false);
  });

  it.each(bad)('a card title %j is refused', (title) => {
    expect(createCardRequestSchema.safeParse({ title, prompt: 'echo hi' }).success).toBe(false);
  });

  it.each(bad)('a label value or recipient label %j is refused', (label) => {
    expect(
      createSessionRequestSchema.safeParse({ harness: 'shell', prompt: 'x', labels: { k: label.replace(/ /g, '') } })
        .success,
    ).toBe(false);
    expect(
      recipientEntrySchema.safeParse({ id: 'r1', kind: 'cli', recipient: 'age1abc', label, signer: null, addedAt: 1 })
        .success,
    ).toBe(false);
  });

  it('keeps ordinary names, with accents, emoji and inner spaces', () => {
    expect(updateDeviceRequestSchema.parse({ name: '  Ada’s Pi 🍓 ' })).toEqual({ name: 'Ada’s Pi 🍓' });
    expect(createCardRequestSchema.safeParse({ title: 'Fix the café build', prompt: 'x' }).success).toBe(true);
  });
});

describe('device-supplied numbers are bounded', () => {
  const meta = (usage: Record<string, number>) => ({
    corrId: 'ses_aaaaaaaaaa',
    type: 'session.meta',
    direction: 'to_cloud',
    ts: 1_763_715_600_000,
    payload: { sessionId: 'ses_aaaaaaaaaa', usage: { input: 1, output: 1, cached: 0, ...usage } },
  });

  it('refuses 2^53 - 1 tokens and a cost of 1e308 in one usage report', () => {
    expect(parseEnvelope(meta({ input: Number.MAX_SAFE_INTEGER }))).toMatchObject({
      ok: false,
      code: 'invalid_envelope',
    });
    expect(parseEnvelope(meta({ output: 1e9 + 1 }))).toMatchObject({ ok: false, code: 'invalid_envelope' });
    expect(parseEnvelope(meta({ costUsd: 1e308 }))).toMatchObject({ ok: false, code: 'invalid_envelope' });
    expect(parseEnvelope(meta({ input: 1e9, output: 1e9, cached: 1e9, costUsd: 10_000 }))).toMatchObject({ ok: true });
  });

  it('refuses timestamps past the year 3000 and negative or fractional ones', () => {
    const env = meta({});
    for (const ts of [-1, 1.5, 4e13, Number.MAX_SAFE_INTEGER]) {
      expect(envelopeSchema.safeParse({ ...env, ts }).success).toBe(false);
    }
  });

  it('refuses an implausible capability digest', () => {
    expect(capabilityDigestSchema.safeParse(digest).success).toBe(true);
    const bad: Partial<CapabilityDigest>[] = [
      { cpus: 4097 },
      { ramTotal: 2 ** 51, ramFree: 1 },
      { ramTotal: 2 ** 30, ramFree: 120 * 2 ** 30 },
      { load: [-1, 0, 0] },
      { load: [1e5, 0, 0] },
      { hostname: 'evil\u001b]0;owned\u0007' },
      { allowlist: ['rm\u0000'] },
      { runningSessions: 1e9 },
    ];
    for (const over of bad)
      expect(capabilityDigestSchema.safeParse({ ...digest, ...over }).success, JSON.stringify(over)).toBe(false);
    expect(firstIssue(capabilityDigestSchema.safeParse({ ...digest, ramFree: digest.ramTotal + 1 }))).toBe(
      'ramFree: ramFree must not exceed ramTotal',
    );
  });

  it('refuses an exit code or pid no process can have', () => {
    const exit = {
      corrId: 'c',
      type: 'session.exit',
      direction: 'to_cloud',
      ts: 1,
      payload: { sessionId: 'ses_aaaaaaaaaa', signal: null },
    };
    expect(envelopeSchema.safeParse({ ...exit, payload: { ...exit.payload, code: 1 } }).success).toBe(true);
    expect(envelopeSchema.safeParse({ ...exit, payload: { ...exit.payload, code: 2 ** 40 } }).success).toBe(false);
    const ack = {
      corrId: 'c',
      type: 'session.ack',
      direction: 'to_cloud',
      ts: 1,
      payload: { sessionId: 'ses_aaaaaaaaaa', pid: 2 ** 40 },
    };
    expect(envelopeSchema.safeParse(ack).success).toBe(false);
  });
});

describe('opaque JSON is bounded in depth and size', () => {
  it('measures a value nested 20,000 deep without overflowing the stack', () => {
    expect(jsonWithin(nest(64))).toBe(true);
    expect(jsonWithin(nest(65))).toBe(false);
    expect(jsonWithin(nest(20_000))).toBe(false);
    expect(jsonWithin(new Array(100_001).fill(0))).toBe(false);
  });

  it('refuses an approval request whose input is nested 20,000 deep as an invalid envelope', () => {
    const env = {
      corrId: 'ses_aaaaaaaaaa',
      type: 'session.approval_request',
      direction: 'to_cloud',
      ts: 1,
      payload: {
        sessionId: 'ses_aaaaaaaaaa',
        requestId: 'r1',
        tool: 'Bash',
        summary: 'run ls',
        input: nest(20_000),
        expiresAt: 1_763_715_900_000,
      },
    };
    const result = parseEnvelope(env);
    expect(result).toMatchObject({ ok: false, code: 'invalid_envelope' });
    if (!result.ok) expect(result.message).toMatch(/^payload\.input: must nest at most 64 deep/);
    expect(parseEnvelope({ ...env, payload: { ...env.payload, input: nest(10) } })).toMatchObject({ ok: true });
  });
});

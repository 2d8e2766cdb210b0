import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  MAX_FRAME_BYTES,
  envelopeTypes,
  errorCodes,
  parseFrame,
  splitCommandLine,
  tokenClaimsSchema,
  type ErrorCode,
} from './index.js';

const fixture = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8')
    .split('\n')
    .filter(Boolean);

describe('golden envelope fixtures', () => {
  const valid = fixture('envelopes.valid.ndjson');
  const invalid = fixture('envelopes.invalid.jsonl').map(
    (l) => JSON.parse(l) as { why: string; code: ErrorCode; raw: string },
  );

  it('covers every envelope type with at least one valid line', () => {
    const seen = new Set(valid.map((l) => (JSON.parse(l) as { type: string }).type));
    expect([...seen].sort()).toEqual([...envelopeTypes].sort());
  });

  it.each(valid.map((l, i) => [i + 1, l] as const))('valid line %i parses', (_n, line) => {
    const result = parseFrame(line);
    if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
    expect(result.envelope).toMatchObject(JSON.parse(line));
  });

  it.each(invalid.map((c) => [c.why, c] as const))('rejects %s', (_why, c) => {
    const result = parseFrame(c.raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe(c.code);
      expect(errorCodes).toContain(result.code);
      expect(result.message.length).toBeGreaterThan(0);
    }
  });

  it('reports the corrId of a readable but invalid frame so the error can be correlated', () => {
    const result = parseFrame(
      JSON.stringify({ corrId: 'c-1', type: 'session.ack', direction: 'to_cloud', payload: {}, ts: 1 }),
    );
    expect(result).toMatchObject({ ok: false, code: 'invalid_envelope', corrId: 'c-1' });
  });

  it('refuses an oversized frame before parsing it', () => {
    const big = 'x'.repeat(MAX_FRAME_BYTES + 1);
    expect(parseFrame(big)).toMatchObject({ ok: false, code: 'frame_too_large' });
    expect(parseFrame('{}', 10, 5)).toMatchObject({ ok: false, code: 'frame_too_large' });
  });
});

describe('splitCommandLine', () => {
  it('splits words and honours quotes and escapes without expanding anything', () => {
    expect(splitCommandLine('echo hello')).toEqual(['echo', 'hello']);
    expect(splitCommandLine(`  echo  'a b'  "c \\"d\\"" e\\ f  `)).toEqual(['echo', 'a b', 'c "d"', 'e f']);
    expect(splitCommandLine('echo $HOME *.ts | rm -rf /')).toEqual(['echo', '$HOME', '*.ts', '|', 'rm', '-rf', '/']);
    expect(splitCommandLine("echo ''")).toEqual(['echo', '']);
    expect(splitCommandLine('')).toEqual([]);
  });

  it('throws on an unterminated quote', () => {
    expect(() => splitCommandLine('echo "oops')).toThrow('unterminated quote');
  });
});

describe('token claims', () => {
  const base = { jti: 'abcdefgh12', iat: 1, exp: 2, iss: 'fabric' };
  it('accepts each token type and rejects a mixed-up one', () => {
    expect(tokenClaimsSchema.safeParse({ ...base, typ: 'device', sub: 'dev_1' }).success).toBe(true);
    expect(tokenClaimsSchema.safeParse({ ...base, typ: 'cli', sub: 'usr_1', role: 'owner', name: 'ada' }).success).toBe(
      true,
    );
    expect(tokenClaimsSchema.safeParse({ ...base, typ: 'pairing', sub: 'usr_1' }).success).toBe(true);
    expect(tokenClaimsSchema.safeParse({ ...base, typ: 'browser', sub: 'usr_1' }).success).toBe(false);
    expect(tokenClaimsSchema.safeParse({ ...base, typ: 'device', sub: 'dev_1', iss: 'evil' }).success).toBe(false);
  });
});

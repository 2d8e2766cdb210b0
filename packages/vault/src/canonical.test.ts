import { describe, expect, it } from 'vitest';
import { canonicalJson } from './index.js';

describe('canonical JSON', () => {
  it('matches the RFC 8785 sample (numbers, escapes, literals)', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    ) as unknown;
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units, as RFC 8785 does', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const keys = Object.keys(JSON.parse(canonicalJson(input)) as object);
    // JSON.parse puts integer-like keys first; compare the serialized order instead.
    const order = [...canonicalJson(input).matchAll(/"([^"]*)":"([^"]*)"/g)].map((m) => m[2]);
    expect(keys).toHaveLength(7);
    expect(order).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
  });

  it('is independent of key insertion order, at every depth, with no whitespace', () => {
    const a = { b: 1, a: [{ y: true, x: null }], c: { e: 'é', d: -0 } };
    const b = { c: { d: 0, e: 'é' }, a: [{ x: null, y: true }], b: 1 };
    expect(canonicalJson(a)).toBe('{"a":[{"x":null,"y":true}],"b":1,"c":{"d":0,"e":"é"}}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it('leaves out properties that are undefined', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it('throws instead of encoding something JSON cannot say exactly', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [
      NaN,
      Infinity,
      1n,
      () => 1,
      Symbol('s'),
      new Date(0),
      new Uint8Array(1),
      [undefined],
      '\ud800',
      { k: '\udc00x' },
      cyclic,
      undefined,
    ]) {
      expect(() => canonicalJson(bad)).toThrow(TypeError);
    }
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { z: 1 };
    expect(canonicalJson({ a: shared, b: [shared] })).toBe('{"a":{"z":1},"b":[{"z":1}]}');
  });
});

import { describe, expect, it } from 'vitest';
import {
  forgetEnrolment,
  readEnrolment,
  STORAGE_KEY,
  writeEnrolment,
  type KeyValueStore,
  type StoredEnrolment,
} from './vault-storage.js';

function memory(): KeyValueStore & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  };
}

const enrolment: StoredEnrolment = {
  v: 1,
  vaultId: 'vlt_abc',
  identityId: 'brw_0123456789abcdef',
  recipient: 'age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq',
  label: 'Chrome on Linux',
  trusted: { vaultId: 'vlt_abc', version: 2, hash: 'h', signers: ['s1', 's2'] },
  passkey: true,
  enrolledAt: 1,
};

describe('what the browser remembers in localStorage', () => {
  it('round-trips ids and public state', () => {
    const store = memory();
    expect(readEnrolment(store)).toBeNull();
    writeEnrolment(store, enrolment);
    expect(readEnrolment(store)).toEqual(enrolment);
    forgetEnrolment(store);
    expect(store.map.has(STORAGE_KEY)).toBe(false);
  });

  it('refuses to store anything that looks like a secret key', () => {
    const store = memory();
    expect(() => writeEnrolment(store, { ...enrolment, label: 'AGE-SECRET-KEY-1QQQ' })).toThrow(/secret/);
    expect(() =>
      writeEnrolment(store, { ...enrolment, recipient: 'age1x', label: 'fabric-signer-secret-key-1abc' }),
    ).toThrow(/secret/);
    expect(store.map.size).toBe(0);
  });

  it('treats a damaged or foreign record as no enrolment, never as trusted state', () => {
    const store = memory();
    for (const raw of [
      '{',
      'null',
      '[]',
      JSON.stringify({ ...enrolment, v: 2 }),
      JSON.stringify({ ...enrolment, trusted: { ...enrolment.trusted, vaultId: 'vlt_other' } }),
      JSON.stringify({ ...enrolment, trusted: { ...enrolment.trusted, version: 0 } }),
    ]) {
      store.setItem(STORAGE_KEY, raw);
      expect(readEnrolment(store)).toBeNull();
    }
  });

  it('copes with storage that throws (private browsing)', () => {
    const broken: KeyValueStore = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {},
      removeItem: () => {},
    };
    expect(readEnrolment(broken)).toBeNull();
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { encryptEntry, generateIdentity } from '@fabric/vault';
import { CredentialCache } from './cache.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('CredentialCache', () => {
  it('decrypts with the device key, serves the same buffer while fresh, and zeroes it on expiry', async () => {
    const device = await generateIdentity();
    const ciphertext = await encryptEntry('hunter2-hunter2', [device.recipient]);
    vi.useFakeTimers();
    const cache = new CredentialCache(() => device.identity, 15 * 60_000);
    const first = (await cache.resolve([{ name: 'PASS', version: 1, ciphertext }])).get('PASS')!;
    expect(new TextDecoder().decode(first)).toBe('hunter2-hunter2');
    const again = (await cache.resolve([{ name: 'PASS', version: 1, ciphertext }])).get('PASS')!;
    expect(again).toBe(first);
    vi.advanceTimersByTime(15 * 60_000);
    expect(cache.size).toBe(0);
    expect(first.every((b) => b === 0)).toBe(true);
  });

  it('replaces an older version, zeroing it', async () => {
    const device = await generateIdentity();
    const cache = new CredentialCache(() => device.identity);
    const v1 = (
      await cache.resolve([{ name: 'K', version: 1, ciphertext: await encryptEntry('value-one', [device.recipient]) }])
    ).get('K')!;
    const v2 = (
      await cache.resolve([{ name: 'K', version: 2, ciphertext: await encryptEntry('value-two', [device.recipient]) }])
    ).get('K')!;
    expect(new TextDecoder().decode(v2)).toBe('value-two');
    expect(v1.every((b) => b === 0)).toBe(true);
    cache.clear();
    expect(v2.every((b) => b === 0)).toBe(true);
  });

  it('refuses with credential_unavailable when the device is not a recipient or has no key', async () => {
    const device = await generateIdentity();
    const other = await generateIdentity();
    const ciphertext = await encryptEntry('secret', [other.recipient]);
    await expect(
      new CredentialCache(() => device.identity).resolve([{ name: 'X', version: 1, ciphertext }]),
    ).rejects.toMatchObject({
      code: 'credential_unavailable',
      message: expect.stringContaining('optimal vault enrol'),
    });
    await expect(
      new CredentialCache(() => null).resolve([{ name: 'X', version: 1, ciphertext }]),
    ).rejects.toMatchObject({ code: 'credential_unavailable' });
  });
});

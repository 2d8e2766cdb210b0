import { describe, expect, it } from 'vitest';
import {
  newRecoveryPhrase,
  validatePhrase,
  unwrapWithPassphrase,
  wrapWithPassphrase,
  verifyRecipientSet,
  VaultError,
} from '@fabric/vault';
import { ApiError } from '../api.js';
import { PASSKEY_CHANGED, VAULT_NOT_INITIALIZED, VaultUiError, problemCode, vaultProblem } from './vault-errors.js';

const caught = async (f: () => unknown): Promise<unknown> => {
  try {
    await f();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
};

describe('vault errors in plain words', () => {
  it('names the position of a misspelled phrase word, never the word', async () => {
    const words = newRecoveryPhrase().split(' ');
    words[6] = 'xylophonez';
    const p = vaultProblem(await caught(() => validatePhrase(words.join(' '))), 'phrase');
    expect(p).toEqual({ code: 'phrase_invalid', text: 'Word 7 is not a recovery word; check its spelling.' });
    expect(p.text).not.toContain('xylophonez');
  });

  it('counts the words, and explains a failed checksum', async () => {
    const phrase = newRecoveryPhrase();
    expect(
      vaultProblem(await caught(() => validatePhrase(phrase.split(' ').slice(0, 23).join(' '))), 'phrase').text,
    ).toBe('A recovery phrase has 24 words, this has 23.');
    const words = phrase.split(' ');
    const swapped = [...words];
    // Swap two different words until the checksum breaks (it is 8 bits: almost always at once).
    let err: unknown = null;
    for (let i = 1; i < 24 && err === null; i++) {
      if (words[0] === words[i]) continue;
      [swapped[0], swapped[i]] = [words[i]!, words[0]!];
      try {
        validatePhrase(swapped.join(' '));
      } catch (e) {
        err = e;
      }
      [swapped[0], swapped[i]] = [words[0]!, words[i]!];
    }
    const p = vaultProblem(err, 'phrase');
    expect(p.code).toBe('phrase_checksum');
    expect(p.text).toMatch(/one is wrong or two are swapped/);
  });

  it('tells a wrong passphrase from a changed passkey', async () => {
    const blob = await wrapWithPassphrase('secret', 'right passphrase', { workFactor: 2 });
    const wrong = await caught(() => unwrapWithPassphrase(blob, 'wrong passphrase'));
    expect(vaultProblem(wrong, 'unlock-passphrase')).toMatchObject({
      code: 'passphrase_wrong',
      text: expect.stringMatching(/^Wrong passphrase/),
    });
    expect(vaultProblem(wrong, 'unlock-passphrase').passkeyRefused).toBeUndefined();
    for (const err of [
      new VaultUiError('prf_missing'),
      new VaultError('decrypt_failed', 'x'),
      new VaultError('canary_mismatch', 'x'),
    ]) {
      const p = vaultProblem(err, 'unlock-passkey');
      expect(p.text).toBe(PASSKEY_CHANGED);
      expect(p.passkeyRefused).toBe(true);
    }
    expect(PASSKEY_CHANGED).toMatch(/restoring it to a new device or with some Safari versions/);
    expect(PASSKEY_CHANGED).toMatch(/unlock with your passphrase, then re-enrol the passkey/i);
  });

  it('does not treat a cancelled prompt as a changed passkey', () => {
    const cancelled = {
      name: 'NotAllowedError',
      message: 'The operation either timed out or was not allowed.',
      code: 0,
    };
    expect(problemCode(cancelled)).toBe('NotAllowedError');
    const p = vaultProblem(cancelled, 'unlock-passkey');
    expect(p.passkeyRefused).toBeUndefined();
    expect(p.text).toMatch(/cancelled or timed out/);
  });

  it("explains a set the server forged, keeping the library's detail", async () => {
    const err = await caught(() => verifyRecipientSet({ vaultId: 'v', version: 1 } as never, null));
    const p = vaultProblem(err, 'load');
    expect(p.code).toBe('set_invalid');
    expect(p.text).toMatch(/does not verify.*optimal vault recipients/);
    expect(p.detail).toBeTruthy();
    expect(vaultProblem(new VaultError('set_rollback', 'older'), 'load').text).toMatch(/older recipient set/);
    expect(vaultProblem(new VaultError('set_invalid', 'the recipient set is for another vault'), 'load').text).toMatch(
      /different vault/,
    );
  });

  it('explains a 409 for the entry being saved', () => {
    const p = vaultProblem(
      new ApiError('conflict', 'entry X changed since you read it (version 2); read it again', 409),
      'save',
      'GITHUB_TOKEN',
    );
    expect(p.text).toMatch(/^Not saved: GITHUB_TOKEN was changed elsewhere/);
    expect(p.detail).toMatch(/changed since you read it/);
  });

  it('points to `optimal vault init` when there is no vault, and explains limits and roles', () => {
    expect(vaultProblem(new ApiError('vault_not_initialized', 'no vault', 404), 'load').text).toBe(
      VAULT_NOT_INITIALIZED,
    );
    expect(VAULT_NOT_INITIALIZED).toContain('`optimal vault init`');
    expect(vaultProblem(new ApiError('rate_limited', 'slow down', 429), 'unlock-passphrase').text).toMatch(
      /Too many unlock attempts/,
    );
    expect(vaultProblem(new ApiError('forbidden', 'owner only', 403), 'enrol').text).toMatch(/Only an owner can enrol/);
    expect(vaultProblem(new ApiError('network', 'offline', 0), 'save').text).toMatch(/Cannot reach the control plane/);
  });

  it('falls back to one line for anything unexpected', () => {
    expect(vaultProblem(new Error('boom'), 'load')).toEqual({ code: 'unknown', text: 'Something went wrong: boom' });
    expect(vaultProblem(undefined, 'load')).toEqual({ code: 'unknown', text: 'Something went wrong. Try again.' });
  });
});

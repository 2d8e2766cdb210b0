import { describe, expect, it } from 'vitest';
import { vaultNameSchema } from '@fabric/protocol';
import { ENTRY_NAME_PATTERN, entryNameProblem, suggestEntryName } from './vault-names.js';

describe('entry names', () => {
  const samples = [
    'OPENAI_API_KEY',
    '_x',
    'a',
    'A1',
    '1A',
    '',
    'with-dash',
    'with space',
    'ÜBER',
    'X'.repeat(128),
    'X'.repeat(129),
    ' TOKEN',
    'TOKEN\n',
  ];

  it("follow the protocol's rule exactly (environment variable names)", () => {
    for (const s of samples) {
      expect({ s, ok: entryNameProblem(s) === null }).toEqual({ s, ok: vaultNameSchema.safeParse(s).success });
      expect(ENTRY_NAME_PATTERN.test(s)).toBe(vaultNameSchema.safeParse(s).success);
    }
  });

  it('say what is wrong and where', () => {
    expect(entryNameProblem('')).toMatch(/give the entry a name/);
    expect(entryNameProblem('1PASSWORD')).toBe('an environment variable name cannot start with a digit');
    expect(entryNameProblem('GH-TOKEN')).toBe('only letters, digits and _ — "-" at position 3 is not allowed');
    expect(entryNameProblem('MY KEY')).toBe('only letters, digits and _ — a space at position 3 is not allowed');
    expect(entryNameProblem('X'.repeat(129))).toBe('at most 128 characters (this has 129)');
  });

  it('offer a valid name close to what was typed', () => {
    expect(suggestEntryName('openai api-key')).toBe('OPENAI_API_KEY');
    expect(suggestEntryName('1password token')).toBe('_1PASSWORD_TOKEN');
    expect(suggestEntryName('Crème brûlée')).toBe('CREME_BRULEE');
    expect(suggestEntryName('GOOD_NAME')).toBeNull();
    expect(suggestEntryName('---')).toBeNull();
  });
});

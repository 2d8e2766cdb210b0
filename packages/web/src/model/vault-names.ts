/**
 * Vault entry names are environment variable names: a session gets entry
 * NAME as the variable NAME. The same rule as the protocol's `vaultNameSchema`
 * (checked against it in the tests), restated here so the first-load bundle
 * does not carry zod for one regular expression.
 */
export const ENTRY_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const ENTRY_NAME_MAX = 128;

/**
 * Why `name` cannot be an entry name, in one line a person can act on, or
 * null when it can. Names are taken as typed: no trimming, since a variable
 * called " TOKEN" would never be found by the program that reads TOKEN.
 */
export function entryNameProblem(name: string): string | null {
  if (name.length === 0) return 'give the entry a name, e.g. OPENAI_API_KEY';
  if (name.length > ENTRY_NAME_MAX) return `at most ${ENTRY_NAME_MAX} characters (this has ${name.length})`;
  if (/^[0-9]/.test(name)) return 'an environment variable name cannot start with a digit';
  // eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points on purpose: the first one outside [A-Za-z0-9_] is shown, with its position
  const chars = [...name];
  const bad = chars.findIndex((c) => !/[A-Za-z0-9_]/.test(c));
  if (bad >= 0) {
    const c = chars[bad]!;
    const shown = c === ' ' ? 'a space' : `"${c}"`;
    return `only letters, digits and _ — ${shown} at position ${bad + 1} is not allowed`;
  }
  return ENTRY_NAME_PATTERN.test(name) ? null : 'not an environment variable name';
}

/**
 * A valid name close to what was typed ("openai api-key" → "OPENAI_API_KEY"),
 * offered as a one-tap fix; null when there is nothing sensible to offer or
 * the input is already valid.
 */
export function suggestEntryName(input: string): string | null {
  if (entryNameProblem(input) === null) return null;
  let s = input
    .trim()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '');
  s = s
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
  if (s === '') return null;
  if (/^[0-9]/.test(s)) s = `_${s}`;
  s = s.slice(0, ENTRY_NAME_MAX);
  return entryNameProblem(s) === null && s !== input ? s : null;
}

/**
 * Names of the golden fixture files shipped in `fixtures/` (import them by
 * path: `@fabric/protocol/fixtures/<name>`). Every package's tests read the
 * same files, so a change to the contract shows up everywhere at once.
 *
 * - `envelopes.valid.ndjson`: one valid envelope per line, every type.
 * - `envelopes.invalid.jsonl`: `{why, code, raw}` per line; `raw` must be
 *   rejected with `code`.
 */
export const fixtureFiles = ['envelopes.valid.ndjson', 'envelopes.invalid.jsonl'] as const;

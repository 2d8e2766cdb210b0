/**
 * Names of the golden fixture files shipped in `fixtures/` (import them by
 * path: `@fabric/protocol/fixtures/<name>`). Every package's tests read the
 * same files, so a change to the contract shows up everywhere at once.
 *
 * - `envelopes.valid.ndjson`: one valid envelope per line, every type.
 * - `envelopes.invalid.jsonl`: `{why, code, raw}` per line; `raw` must be
 *   rejected with `code`.
 * - `ledger.v1.jsonl`: the rows of a device ledger (`ledger.db`'s `events`
 *   table, payloads as the hashed JSON text) written by the daemon before its
 *   events were typed: one or more per kind as its call site writes it, then
 *   rows outside the union (unknown kinds, payloads of older daemons). Every
 *   row must still verify and read back.
 */
export const fixtureFiles = ['envelopes.valid.ndjson', 'envelopes.invalid.jsonl', 'ledger.v1.jsonl'] as const;

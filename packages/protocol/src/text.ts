import { z } from 'zod';

/**
 * Refinements for text and numbers that cross a trust boundary. Every string
 * that reaches a process (argv, cwd, environment, stdin) or a terminal goes
 * through one of these, so a bad one is refused at the schema with a message
 * naming the field, before anything is stored or spawned.
 *
 * - `safeText`: free text (prompts, messages, paths). Refuses NUL, which no
 *   process argument, path or environment value may hold.
 * - `safeName`: names and labels a person reads in a list. Refuses every
 *   control character (C0, DEL, C1) and the bidi controls that reorder what
 *   a terminal or a page shows (U+202A–U+202E, U+2066–U+2069).
 */

// eslint-disable-next-line no-control-regex -- the control characters safeName refuses
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const BIDI = /[\u202a-\u202e\u2066-\u2069]/;

/** True when `s` holds no NUL byte. */
export function hasNoNul(s: string): boolean {
  return !s.includes('\0');
}

/** True when `s` holds no control character (C0, DEL, C1) and no bidi override or isolate. */
export function isPrintableName(s: string): boolean {
  return !CONTROL.test(s) && !BIDI.test(s);
}

/** Free text of at most `max` UTF-16 units (and at least `min`), without NUL. */
export function safeText(max: number, min = 0) {
  return z.string().min(min).max(max).refine(hasNoNul, 'must not contain NUL');
}

/**
 * A name or label of at most `max` characters (at least `min`, after trimming
 * surrounding spaces), without control characters or bidi overrides.
 */
export function safeName(max: number, min = 1) {
  return printable(z.string().trim().min(min).max(max));
}

/**
 * Like {@link safeName} but kept exactly as sent (no trimming): for labels
 * inside signed data, and for strings a device reports about itself.
 */
export function safeLabel(max: number, min = 0) {
  return printable(z.string().min(min).max(max));
}

function printable(schema: z.ZodString) {
  return schema
    .refine((s) => !CONTROL.test(s), 'must not contain control characters')
    .refine((s) => !BIDI.test(s), 'must not contain bidi control characters');
}

/** Latest timestamp a peer may report (ms since the epoch): the start of the year 3000. */
export const MAX_TIMESTAMP = 32_503_680_000_000;

/** A millisecond timestamp: an integer from the epoch to {@link MAX_TIMESTAMP}. */
export function timestampSchema() {
  return z.number().int().min(0).max(MAX_TIMESTAMP);
}

/** Most tokens one usage report may carry per field. */
export const MAX_USAGE_TOKENS = 1_000_000_000;
/** Most US dollars one usage report may carry. */
export const MAX_USAGE_COST_USD = 10_000;

/** A token count in one report: an integer in 0..{@link MAX_USAGE_TOKENS}. */
export function tokenCountSchema() {
  return z.number().int().min(0).max(MAX_USAGE_TOKENS);
}

/** A reported cost: finite, in 0..{@link MAX_USAGE_COST_USD}. */
export function costUsdSchema() {
  return z.number().min(0).max(MAX_USAGE_COST_USD);
}

/** Deepest nesting (objects and arrays) an opaque JSON payload may have. */
export const MAX_JSON_DEPTH = 64;
/** Most values (every object, array and scalar counted once) an opaque JSON payload may hold. */
export const MAX_JSON_NODES = 100_000;

/**
 * Whether `value` nests at most `maxDepth` deep and holds at most `maxNodes`
 * values. Walks with an explicit stack, so a value nested far deeper than the
 * call stack allows is measured, not crashed on. A value that is not plain
 * JSON (a cycle, a function) counts as too big once it passes the node bound.
 */
export function jsonWithin(value: unknown, maxDepth = MAX_JSON_DEPTH, maxNodes = MAX_JSON_NODES): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  let nodes = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (++nodes > maxNodes) return false;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= maxDepth) return false;
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const c of children) stack.push([c, depth + 1]);
  }
  return true;
}

/** Opaque JSON (a tool's input, an event payload), bounded in depth and size. */
export function boundedJson() {
  return z
    .unknown()
    .refine((v) => jsonWithin(v), `must nest at most ${MAX_JSON_DEPTH} deep and hold at most ${MAX_JSON_NODES} values`);
}

/**
 * Canonical JSON in the manner of RFC 8785 (JCS): object keys sorted by
 * UTF-16 code units, no whitespace, strings escaped as JSON.stringify does,
 * numbers in ECMAScript shortest form. These are the bytes that are signed
 * and hashed, so two clients always agree on them.
 *
 * Accepted: null, booleans, finite numbers, well-formed strings, arrays and
 * plain objects of those. Object properties whose value is `undefined` are
 * left out (as JSON.stringify does); anything else (NaN, Infinity, bigint,
 * functions, symbols, lone surrogates, `undefined` in an array, class
 * instances such as Date or Uint8Array, cycles) throws a TypeError: a bug,
 * never a silently different encoding.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, new Set());
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;

function encode(value: unknown, seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical json: numbers must be finite');
      return JSON.stringify(value);
    case 'string':
      if (LONE_SURROGATE.test(value)) throw new TypeError('canonical json: string is not well-formed unicode');
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonical json: cannot encode a ${typeof value}`);
  }
  const obj = value;
  if (seen.has(obj)) throw new TypeError('canonical json: cycle');
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      return `[${obj
        .map((item: unknown) => {
          if (item === undefined) throw new TypeError('canonical json: undefined in an array');
          return encode(item, seen);
        })
        .join(',')}]`;
    }
    const proto: unknown = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) throw new TypeError('canonical json: only plain objects');
    const record = obj as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is what RFC 8785 asks.
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${encode(k, seen)}:${encode(record[k], seen)}`).join(',')}}`;
  } finally {
    seen.delete(obj);
  }
}

import { FabricError } from '@fabric/protocol';
import type { z } from 'zod';

/**
 * Parse a request part with a protocol schema; a mismatch is a `bad_request`
 * that names the field in words (`limit must be a number`, `prompt must not
 * contain nul`). A missing part is `{}`; a JSON `null` is not, so it is
 * refused like any other non-object.
 */
export function parse<S extends z.ZodType>(schema: S, value: unknown, what = 'body'): z.infer<S> {
  const result = schema.safeParse(value === undefined ? {} : value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new FabricError('bad_request', issue ? describeIssue(issue, what) : `${what} is not valid`);
}

/** Zod's own wording ("Invalid input: expected number, received NaN"), as opposed to a message a schema's author wrote. */
const ZOD_WORDING = /^(invalid|too (small|big)|unrecognized key|expected)/i;

/**
 * One zod issue as a sentence a person can act on: the field's name (its
 * path, without the request part; the part itself when the issue is about
 * the whole of it) and what it must be. Schema messages written for people
 * are kept as they are.
 */
export function describeIssue(issue: z.core.$ZodIssue, what = 'body'): string {
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : what;
  const custom = issue.message && !ZOD_WORDING.test(issue.message) ? issue.message.toLowerCase() : null;
  if (custom) return /^(must|is|has|needs|cannot|should) /.test(custom) ? `${field} ${custom}` : `${field}: ${custom}`;
  switch (issue.code) {
    case 'invalid_type':
      if (issue.message.endsWith('received undefined')) return `${field} is required`;
      return `${field} must be ${article(issue.expected)}`;
    case 'too_small':
      return `${field} ${bound('at least', issue.origin, Number(issue.minimum), issue.inclusive !== false)}`;
    case 'too_big':
      return `${field} ${bound('at most', issue.origin, Number(issue.maximum), issue.inclusive !== false)}`;
    case 'invalid_value':
      return `${field} must be ${issue.values.length === 1 ? String(issue.values[0]) : `one of ${issue.values.map(String).join(', ')}`}`;
    case 'invalid_format':
      return issue.format === 'regex'
        ? `${field} is not in the expected form`
        : `${field} must be a valid ${issue.format}`;
    case 'unrecognized_keys':
      return `${field} does not take ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'not_multiple_of':
      return `${field} must be a multiple of ${String(issue.divisor)}`;
    default:
      return `${field} is not valid`;
  }
}

function article(type: string): string {
  if (type === 'int') return 'a whole number';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** `must be at least 8 characters long`, `must not be empty`, `must be at most 500`. */
function bound(words: 'at least' | 'at most', origin: string, n: number, inclusive: boolean): string {
  if (origin === 'string' || origin === 'array' || origin === 'set') {
    if (words === 'at least' && n === 1) return 'must not be empty';
    return `must have ${words} ${n} ${origin === 'string' ? 'characters' : 'items'}`;
  }
  if (!inclusive) return `must be ${words === 'at least' ? 'more than' : 'less than'} ${n}`;
  return `must be ${words} ${n}`;
}

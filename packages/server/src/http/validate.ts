import { FabricError } from '@fabric/protocol';
import type { z } from 'zod';

/**
 * Parse a request part with a protocol schema; a mismatch is a `bad_request`
 * naming the field (`body.prompt: must not contain nul`). A missing part is
 * `{}`; a JSON `null` is not, so it is refused like any other non-object.
 */
export function parse<S extends z.ZodTypeAny>(schema: S, value: unknown, what = 'body'): z.infer<S> {
  const result = schema.safeParse(value === undefined ? {} : value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${what}.${issue.path.join('.')}` : what;
  throw new FabricError('bad_request', `${where}: ${(issue?.message ?? 'invalid').toLowerCase()}`);
}

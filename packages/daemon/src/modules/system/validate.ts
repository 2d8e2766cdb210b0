import type { z } from 'zod';
import { FabricError } from '@fabric/protocol';

/**
 * Parse an agent-supplied input with its protocol schema. Throws
 * `bad_request` naming the first problem (`what: field: message`), so a bad
 * input is refused before anything runs.
 */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new FabricError('bad_request', `${what}: ${where}${issue?.message ?? 'invalid input'}`);
}

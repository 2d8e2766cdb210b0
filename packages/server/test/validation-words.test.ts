import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createSessionRequestSchema,
  loginRequestSchema,
  redeemRequestSchema,
  type FabricError,
} from '@fabric/protocol';
import { parse } from '../src/http/validate.js';

function message(schema: z.ZodTypeAny, value: unknown, what?: string): string {
  try {
    parse(schema, value, what);
  } catch (err) {
    expect((err as FabricError).code).toBe('bad_request');
    return (err as FabricError).message;
  }
  throw new Error('parsed');
}

const query = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  status: z.enum(['queued', 'running']).optional(),
});

describe('validation errors name the field in words, without schema jargon', () => {
  it.each([
    [query, { limit: 'abc' }, 'query', 'limit must be a number'],
    [query, { limit: '1.5' }, 'query', 'limit must be a whole number'],
    [query, { limit: '0' }, 'query', 'limit must be at least 1'],
    [query, { limit: '501' }, 'query', 'limit must be at most 500'],
    [query, { status: 'nope' }, 'query', 'status must be one of queued, running'],
    [createSessionRequestSchema, { harness: 'shell' }, 'body', 'prompt is required'],
    [createSessionRequestSchema, { harness: 'shell', prompt: 'a\u0000b' }, 'body', 'prompt must not contain nul'],
    [createSessionRequestSchema, null, 'body', 'body must be an object'],
    [createSessionRequestSchema, { harness: 'shell', prompt: '' }, 'body', 'prompt must not be empty'],
    [createSessionRequestSchema, { harness: 'shell', prompt: 'x', extra: 1 }, 'body', 'body does not take "extra"'],
    [loginRequestSchema, { name: 'ada', password: '' }, 'body', 'password must not be empty'],
    [
      redeemRequestSchema,
      { code: 'x'.repeat(12), name: 'ada', password: 'short' },
      'body',
      'password: passwords need at least 8 characters',
    ],
  ] as const)('%#: %j → "%s"', (schema, value, what, want) => {
    expect(message(schema as z.ZodTypeAny, value, what)).toBe(want);
  });
});

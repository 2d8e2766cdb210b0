import { z } from 'zod';

/** `:id` of a session, device, card or identity: opaque, 1-128 characters (a device also goes by its name). */
export const idParamsSchema = z.object({ id: z.string().min(1).max(128) });

/** The answer of a write that has nothing else to say. */
export const okResponseSchema = z.object({ ok: z.literal(true) });

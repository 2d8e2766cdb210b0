import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  clientLogRequestSchema, enrolIdentityRequestSchema, putEntryRequestSchema, putRecipientSetRequestSchema,
  rewrapRequestSchema, vaultNameSchema,
} from '@fabric/protocol';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { requireUser } from './auth.js';
import { RateLimiter } from './ratelimit.js';
import { parse } from './validate.js';

const nameParams = z.object({ name: vaultNameSchema });
const idParams = z.object({ id: z.string().min(1).max(128) });
const afterQuery = z.object({ after: z.coerce.number().int().min(0).default(0) });
const logQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

/**
 * `/api/vault/*`: ciphertext in, ciphertext out. Reading needs a signed-in
 * person; changing the recipient set, rewrapping and deleting need an owner.
 * Everything an unlock touches (the set, entries, wrapped unlock material)
 * is rate limited per person and address.
 */
export function registerVaultRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { vault } = ctx;
  const unlockLimiter = new RateLimiter(ctx.clock, 10, 60_000);
  const readLimiter = new RateLimiter(ctx.clock, 120, 60_000);
  const actor = async (req: FastifyRequest, role?: 'owner') => `user:${(await requireUser(ctx, req, role)).sub}`;
  const limitReads = async (req: FastifyRequest) => {
    const who = await actor(req);
    readLimiter.take(`${who}@${req.ip}`);
    return who;
  };

  app.get('/api/vault/set', async (req) => {
    await limitReads(req);
    return { set: await vault.requireSet() };
  });

  /** The versions after `after`, so a client can check every link of the chain it missed. */
  app.get('/api/vault/sets', async (req) => {
    await limitReads(req);
    const q = parse(afterQuery, req.query, 'query');
    return { sets: await vault.setsAfter(q.after) };
  });

  app.put('/api/vault/set', async (req) => {
    const who = await actor(req, 'owner');
    const body = parse(putRecipientSetRequestSchema, req.body);
    await vault.putSet(body.set, who);
    return { set: body.set };
  });

  /** With `?ciphertext=1` (owners), every entry's ciphertext too: what a rewrap needs in one read. */
  app.get('/api/vault/entries', async (req) => {
    const q = parse(z.object({ ciphertext: z.enum(['0', '1']).default('0') }), req.query, 'query');
    if (q.ciphertext === '1') {
      const who = await actor(req, 'owner');
      return { entries: await vault.listWithCiphertext(who) };
    }
    await limitReads(req);
    return { entries: await vault.listEntries() };
  });

  app.get('/api/vault/entries/:name', async (req) => {
    const who = await limitReads(req);
    const { name } = parse(nameParams, req.params, 'params');
    return vault.getEntry(name, who);
  });

  app.put('/api/vault/entries/:name', async (req) => {
    const who = await actor(req);
    const { name } = parse(nameParams, req.params, 'params');
    return vault.putEntry(name, parse(putEntryRequestSchema, req.body), who);
  });

  app.delete('/api/vault/entries/:name', async (req, reply) => {
    const who = await actor(req, 'owner');
    const { name } = parse(nameParams, req.params, 'params');
    await vault.deleteEntry(name, who);
    reply.code(204);
  });

  app.post('/api/vault/rewrap', async (req) => {
    const who = await actor(req, 'owner');
    return { entries: await vault.rewrap(parse(rewrapRequestSchema, req.body), who) };
  });

  app.post('/api/vault/identities', async (req, reply) => {
    const who = await actor(req);
    await vault.enrolIdentity(parse(enrolIdentityRequestSchema, req.body), who);
    reply.code(201);
    return { ok: true };
  });

  app.get('/api/vault/identities/:id', async (req) => {
    const user = await requireUser(ctx, req);
    const who = `user:${user.sub}`;
    unlockLimiter.take(`${who}@${req.ip}`);
    const { id } = parse(idParams, req.params, 'params');
    return vault.unlockMaterial(id, who, user.role === 'owner');
  });

  /** Clients report what they decrypted: the server never sees a read happen. */
  app.post('/api/vault/log', async (req, reply) => {
    const who = await actor(req);
    const body = parse(clientLogRequestSchema, req.body);
    await vault.log(who, body.action, body.entry ?? null, 'reported by the client');
    reply.code(201);
    return { ok: true };
  });

  app.get('/api/vault/log', async (req) => {
    await actor(req, 'owner');
    const q = parse(logQuery, req.query, 'query');
    return { log: await vault.readLog(q.limit) };
  });
}

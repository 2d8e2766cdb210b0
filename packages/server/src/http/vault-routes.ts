import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  clientLogRequestSchema,
  enrolIdentityRequestSchema,
  putEntryRequestSchema,
  putRecipientSetRequestSchema,
  rewrapRequestSchema,
  shareEntryRequestSchema,
  vaultNameSchema,
} from '@fabric/protocol';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import type { VaultCaller } from '../vault/store.js';
import { requireUser } from './auth.js';
import { RateLimiter } from './ratelimit.js';
import { parse } from './validate.js';

const nameParams = z.object({ name: vaultNameSchema });
const shareParams = z.object({ name: vaultNameSchema, user: z.string().min(1).max(128) });
const idParams = z.object({ id: z.string().min(1).max(128) });
const afterQuery = z.object({ after: z.coerce.number().int().min(0).default(0) });
const logQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

/**
 * `/api/vault/*`: ciphertext in, ciphertext out. Reading needs a signed-in
 * person; changing the recipient set and rewrapping need an owner. Each
 * entry's access list (`vault/access.ts`) decides who may see, read,
 * overwrite, delete or share it.
 * Everything an unlock touches (the set, entries, wrapped unlock material)
 * is rate limited per person and address.
 */
export function registerVaultRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { vault } = ctx;
  const unlockLimiter = new RateLimiter(ctx.clock, 10, 60_000);
  const readLimiter = new RateLimiter(ctx.clock, 120, 60_000);
  const actor = async (req: FastifyRequest, role?: 'owner') => `user:${(await requireUser(ctx, req, role)).sub}`;
  const caller = async (req: FastifyRequest, role?: 'owner'): Promise<VaultCaller> => {
    const user = await requireUser(ctx, req, role);
    return { id: user.sub, role: user.role, client: user.typ };
  };
  const limitReads = async (req: FastifyRequest) => {
    const who = await caller(req);
    readLimiter.take(`user:${who.id}@${req.ip}`);
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

  /** With `?ciphertext=1` (owners), every entry's ciphertext too: what a rewrap needs in one read. A member sees only the entries they may use. */
  app.get('/api/vault/entries', async (req) => {
    const q = parse(z.object({ ciphertext: z.enum(['0', '1']).default('0') }), req.query, 'query');
    if (q.ciphertext === '1') {
      const who = await actor(req, 'owner');
      return { entries: await vault.listWithCiphertext(who) };
    }
    return { entries: await vault.listEntries(await limitReads(req)) };
  });

  app.get('/api/vault/entries/:name', async (req) => {
    const who = await limitReads(req);
    const { name } = parse(nameParams, req.params, 'params');
    return vault.getEntry(name, who);
  });

  /** Who wrote each version of an entry, and through which client. */
  app.get('/api/vault/entries/:name/writes', async (req) => {
    const who = await limitReads(req);
    const { name } = parse(nameParams, req.params, 'params');
    return { writes: await vault.writes(name, who) };
  });

  app.put('/api/vault/entries/:name', async (req) => {
    const who = await caller(req);
    const { name } = parse(nameParams, req.params, 'params');
    return vault.putEntry(name, parse(putEntryRequestSchema, req.body), who);
  });

  app.delete('/api/vault/entries/:name', async (req, reply) => {
    const who = await caller(req);
    const { name } = parse(nameParams, req.params, 'params');
    await vault.deleteEntry(name, who);
    reply.code(204);
  });

  app.post('/api/vault/entries/:name/share', async (req) => {
    const who = await caller(req);
    const { name } = parse(nameParams, req.params, 'params');
    const body = parse(shareEntryRequestSchema, req.body);
    return vault.share(name, who, body.user, body.write);
  });

  app.delete('/api/vault/entries/:name/share/:user', async (req) => {
    const who = await caller(req);
    const { name, user } = parse(shareParams, req.params, 'params');
    return vault.unshare(name, who, user);
  });

  app.post('/api/vault/rewrap', async (req) => {
    const who = await caller(req, 'owner');
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

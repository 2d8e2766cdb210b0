import type { FastifyInstance } from 'fastify';
import { createCardRequestSchema, updateCardRequestSchema } from '@fabric/protocol';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { requireUser } from './auth.js';
import { parse } from './validate.js';

const idParams = z.object({ id: z.string().min(1).max(128) });

/** `/api/board`: the kanban, stored server-side. */
export function registerBoardRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { board } = ctx;

  app.get('/api/board', async (req) => {
    const user = await requireUser(ctx, req);
    return { cards: await board.list(user) };
  });

  app.post('/api/board/cards', async (req, reply) => {
    const user = await requireUser(ctx, req);
    reply.code(201);
    return board.create(user.sub, parse(createCardRequestSchema, req.body));
  });

  app.patch('/api/board/cards/:id', async (req) => {
    const user = await requireUser(ctx, req);
    const { id } = parse(idParams, req.params, 'params');
    return board.update(id, parse(updateCardRequestSchema, req.body), user);
  });

  app.delete('/api/board/cards/:id', async (req, reply) => {
    const user = await requireUser(ctx, req);
    const { id } = parse(idParams, req.params, 'params');
    await board.remove(id, user);
    reply.code(204);
  });

  app.post('/api/board/cards/:id/launch', async (req, reply) => {
    const user = await requireUser(ctx, req);
    const { id } = parse(idParams, req.params, 'params');
    reply.code(201);
    return board.launch(id, user);
  });
}

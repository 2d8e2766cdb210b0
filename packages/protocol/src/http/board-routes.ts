import { z } from 'zod';
import { boardCardSchema, createCardRequestSchema, updateCardRequestSchema } from '../api.js';
import { idParamsSchema } from './common.js';
import { defineRoutes } from './route.js';

const mine = "Only the card's creator or an owner sees it; anyone else gets `not_found`.";

/** `/api/board`: the kanban, stored server-side; cards launch sessions. */
export const boardRoutes = defineRoutes({
  listCards: {
    method: 'GET',
    path: '/api/board',
    tag: 'board',
    summary: 'the cards you may see',
    auth: 'user',
    response: z.object({ cards: z.array(boardCardSchema) }),
  },
  createCard: {
    method: 'POST',
    path: '/api/board/cards',
    tag: 'board',
    summary: 'add a card',
    auth: 'user',
    body: createCardRequestSchema,
    status: 201,
    response: boardCardSchema,
  },
  updateCard: {
    method: 'PATCH',
    path: '/api/board/cards/:id',
    tag: 'board',
    summary: 'edit or move a card',
    description: mine,
    auth: 'user',
    params: idParamsSchema,
    body: updateCardRequestSchema,
    response: boardCardSchema,
  },
  deleteCard: {
    method: 'DELETE',
    path: '/api/board/cards/:id',
    tag: 'board',
    summary: 'delete a card',
    description: mine,
    auth: 'user',
    params: idParamsSchema,
    status: 204,
    response: null,
  },
  launchCard: {
    method: 'POST',
    path: '/api/board/cards/:id/launch',
    tag: 'board',
    summary: "start a session from a card; the card then follows its session's status",
    description: mine,
    auth: 'user',
    params: idParamsSchema,
    status: 201,
    response: boardCardSchema,
  },
});

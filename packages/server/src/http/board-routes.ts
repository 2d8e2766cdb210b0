import type { ServerContext } from '../context.js';
import type { Bindings } from './bind.js';

type BoardRoute = 'listCards' | 'createCard' | 'updateCard' | 'deleteCard' | 'launchCard';

/** `/api/board`: the kanban, stored server-side; `BoardStore` asks the policy about each card. */
export function boardBindings(ctx: ServerContext): Bindings<BoardRoute> {
  const { board } = ctx;
  return {
    listCards: { handle: async ({ caller: user }) => ({ cards: await board.list(user) }) },
    createCard: { handle: async ({ caller: user, body }) => board.create(user.sub, body) },
    updateCard: { handle: async ({ caller: user, params, body }) => board.update(params.id, body, user) },
    deleteCard: { handle: async ({ caller: user, params }) => board.remove(params.id, user) },
    launchCard: { handle: async ({ caller: user, params }) => board.launch(params.id, user) },
  };
}

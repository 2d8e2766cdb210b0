import type { FastifyInstance } from 'fastify';
import { routes, type Routes } from '@fabric/protocol';
import type { Passkeys } from '../auth/passkeys.js';
import type { ServerContext } from '../context.js';
import type { Push } from '../push/index.js';
import { accountBindings } from './account-routes.js';
import { bindRoutes, type Handlers } from './bind.js';
import { boardBindings } from './board-routes.js';
import { deviceBindings } from './device-routes.js';
import { ledgerBindings } from './ledger-routes.js';
import { passkeyBindings } from './passkey-routes.js';
import { pushBindings } from './push-routes.js';
import { answerRetryAfter } from './ratelimit.js';
import { sessionBindings } from './session-routes.js';
import { vaultBindings } from './vault-routes.js';

export interface RouteOptions {
  /** FABRIC_PUBLIC_ORIGIN: pins the passkeys' relying party (see relyingPartyFor). */
  publicOrigin?: string | undefined;
  /** Web Push; null in local mode, where its routes answer 410. */
  push: Push | null;
  /** Check every JSON answer against its response schema (tests). */
  checkResponses?: boolean;
}

/**
 * Serve the whole route table (protocol's `routes`): every route has its
 * binding here, or this does not compile.
 */
export function registerRoutes(app: FastifyInstance, ctx: ServerContext, opts: RouteOptions): { passkeys: Passkeys } {
  answerRetryAfter(app);
  const passkeys = passkeyBindings(ctx, { publicOrigin: opts.publicOrigin });
  const handlers: Handlers<Routes> = {
    ...accountBindings(ctx),
    ...passkeys.bindings,
    ...deviceBindings(ctx),
    ...ledgerBindings(ctx),
    ...sessionBindings(ctx),
    ...boardBindings(ctx),
    ...vaultBindings(ctx),
    ...pushBindings(opts.push),
  };
  bindRoutes(app, ctx, routes, handlers, { checkResponses: opts.checkResponses ?? false });
  return { passkeys: passkeys.passkeys };
}

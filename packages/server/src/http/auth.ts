import type { FastifyRequest } from 'fastify';
import { FabricError, type UserClaims } from '@fabric/protocol';
import type { ServerContext } from '../context.js';

/**
 * The signed-in user behind `Authorization: Bearer <token>`; throws
 * `token_missing`, `token_invalid`, `token_expired`, or `forbidden` when an
 * owner is required. A deleted user's tokens stop working at once.
 */
export async function requireUser(ctx: ServerContext, req: FastifyRequest, role?: 'owner'): Promise<UserClaims> {
  const header = req.headers.authorization;
  if (!header || !header.startsWith('Bearer ')) {
    throw new FabricError('token_missing', 'sign in first: send "Authorization: Bearer <token>" (optimal login)');
  }
  const claims = await ctx.tokens.verify(header.slice(7).trim(), ['browser', 'cli']);
  const user = await ctx.db.selectFrom('users').select(['role']).where('id', '=', claims.sub).executeTakeFirst();
  if (!user) throw new FabricError('token_invalid', 'this account no longer exists');
  if (role === 'owner' && user.role !== 'owner') throw new FabricError('forbidden', 'only an owner can do this');
  return { ...claims, role: user.role };
}

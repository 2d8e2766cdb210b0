import type { FastifyReply, FastifyRequest } from 'fastify';
import { FabricError, tokenLifetimes, type DeviceClaims, type RouteAuth, type UserClaims } from '@fabric/protocol';
import { policy, type AccountAction } from '../auth/policy.js';
import type { ServerContext } from '../context.js';

/** The browser session cookie: HttpOnly (no script reads it), SameSite=Strict, 12 hours. */
export const SESSION_COOKIE = 'fabric_session';
/** Header a cookie-authenticated write must carry: a cross-site form or fetch cannot set it without CORS, which we never grant. */
export const CSRF_HEADER = 'x-fabric-csrf';

/** Parse the Cookie header (small, no dependencies: only our one cookie matters). */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, token: string): void {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  reply.header(
    'set-cookie',
    `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${tokenLifetimes.browser}${secure}`,
  );
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
}

/**
 * The signed-in user behind `Authorization: Bearer <token>` (CLI, scripts)
 * or the session cookie (browsers; writes must then carry `x-fabric-csrf`).
 * Throws `token_missing`, `token_invalid`, `token_expired`, `csrf`, or
 * `forbidden` when an owner is required. A deleted user's tokens stop
 * working at once.
 */
export async function requireUser(ctx: ServerContext, req: FastifyRequest, role?: 'owner'): Promise<UserClaims> {
  const header = req.headers.authorization;
  let token: string | null;
  if (header?.startsWith('Bearer ')) {
    token = header.slice(7).trim();
  } else {
    token = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (token && req.method !== 'GET' && req.method !== 'HEAD' && req.headers[CSRF_HEADER] !== '1') {
      throw new FabricError('csrf', `writes from a browser must send the ${CSRF_HEADER} header`);
    }
  }
  if (!token)
    throw new FabricError('token_missing', 'sign in first: send "Authorization: Bearer <token>" (optimal login)');
  const claims = await ctx.tokens.verify(token, ['browser', 'cli']);
  const user = await ctx.db.selectFrom('users').select(['role']).where('id', '=', claims.sub).executeTakeFirst();
  if (!user) throw new FabricError('token_invalid', 'this account no longer exists');
  if (role === 'owner' && user.role !== 'owner') throw new FabricError('forbidden', 'only an owner can do this');
  return { ...claims, role: user.role };
}

/** What an owner-only route asks the policy for, and what anyone else is told. */
export interface OwnerRule {
  action: AccountAction;
  refusal: string;
}

/**
 * The caller of a route, authenticated as its table entry's `auth` says:
 * null (public), the person (`user`; `owner` also asks the policy for
 * `owner.action` and refuses with `forbidden` and `owner.refusal`), the
 * device (`device`), or either (`owner_or_device`: a device token is taken
 * as the device, anything else must be an owner). Throws what
 * {@link requireUser} and token verification throw.
 */
export async function authenticate(
  ctx: ServerContext,
  req: FastifyRequest,
  auth: RouteAuth,
  owner?: OwnerRule,
): Promise<
  UserClaims | DeviceClaims | { kind: 'user'; user: UserClaims } | { kind: 'device'; device: DeviceClaims } | null
> {
  switch (auth) {
    case 'public':
      return null;
    case 'user':
      return requireUser(ctx, req);
    case 'owner':
      return requireOwner(ctx, req, owner);
    case 'device':
      return requireDevice(ctx, req);
    case 'owner_or_device': {
      const header = req.headers.authorization;
      if (header?.startsWith('Bearer ')) {
        const claims = await ctx.tokens.verify(header.slice(7).trim(), ['device', 'browser', 'cli']);
        if (claims.typ === 'device') return { kind: 'device', device: claims };
      }
      return { kind: 'user', user: await requireOwner(ctx, req, owner) };
    }
  }
}

async function requireOwner(
  ctx: ServerContext,
  req: FastifyRequest,
  owner: OwnerRule | undefined,
): Promise<UserClaims> {
  if (!owner) return requireUser(ctx, req, 'owner');
  const user = await requireUser(ctx, req);
  if (!policy.account(user, owner.action)) throw new FabricError('forbidden', owner.refusal);
  return user;
}

/** The device behind `Authorization: Bearer <device token>`; throws `token_missing` or what verification throws. */
async function requireDevice(ctx: ServerContext, req: FastifyRequest): Promise<DeviceClaims> {
  const header = req.headers.authorization;
  if (!header?.startsWith('Bearer ')) {
    throw new FabricError('token_missing', 'send the device token: "Authorization: Bearer <token>"');
  }
  return ctx.tokens.verify(header.slice(7).trim(), ['device']);
}

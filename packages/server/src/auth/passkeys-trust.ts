import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { FabricError } from '@fabric/protocol';
import type { Clock } from '../clock.js';
import type { ServerContext } from '../context.js';
import { cookieValue } from '../http/auth.js';
import type { Db } from '../store/db.js';
import type { KeyRing } from './keyring.js';

/**
 * The trusted-browser cookie: HttpOnly, SameSite=Strict, sent to /api/auth
 * only. It holds a signed token naming the user and a random browser id,
 * made when that browser signs in with (or enrols) a passkey.
 */
export const TRUST_COOKIE = 'fabric_trust';
/** A browser stays trusted this long after its last passkey ceremony, then must use the passkey again. */
export const TRUST_MS = 30 * 24 * 60 * 60 * 1000;

const AUDIENCE = 'fabric.trust';
const trustClaimsSchema = z.object({
  typ: z.literal('trust'),
  sub: z.string().min(1),
  bid: z.string().min(16),
  exp: z.number().int(),
});

/** A verified trust token: this browser (`browserId`) is trusted for `userId` until `expiresAt` (ms). */
export interface BrowserTrust {
  userId: string;
  browserId: string;
  expiresAt: number;
}

/**
 * Sign a trust token for `userId`, valid for {@link TRUST_MS} from now.
 * Keeps `browserId` when the browser already has one, so one browser keeps
 * one id across renewals. Signed by the control plane's key ring with its
 * own `typ` and audience, so it is never accepted as a session token.
 */
export async function signTrust(
  keys: KeyRing,
  clock: Clock,
  userId: string,
  browserId = randomBytes(16).toString('base64url'),
): Promise<{ token: string; trust: BrowserTrust }> {
  const { kid, secret } = keys.current();
  const now = clock.now();
  const exp = Math.floor((now + TRUST_MS) / 1000);
  const token = await new SignJWT({ typ: 'trust', bid: browserId })
    .setProtectedHeader({ alg: 'HS256', kid })
    .setIssuer('fabric')
    .setAudience(AUDIENCE)
    .setSubject(userId)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(exp)
    .sign(secret);
  return { token, trust: { userId, browserId, expiresAt: exp * 1000 } };
}

/** The trust a token carries, or null when it is missing, forged, for another purpose, or past its 30 days. Never throws. */
export async function verifyTrust(keys: KeyRing, clock: Clock, token: string | null): Promise<BrowserTrust | null> {
  if (!token) return null;
  try {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        const key = keys.verifying(header.kid);
        if (!key) throw new Error('unknown key');
        return key;
      },
      { algorithms: ['HS256'], issuer: 'fabric', audience: AUDIENCE, currentDate: new Date(clock.now()) },
    );
    const claims = trustClaimsSchema.safeParse(payload);
    if (!claims.success) return null;
    return { userId: claims.data.sub, browserId: claims.data.bid, expiresAt: claims.data.exp * 1000 };
  } catch {
    return null;
  }
}

/** The trust this request's browser holds (for any user), or null. */
export function browserTrust(
  ctx: Pick<ServerContext, 'keys' | 'clock'>,
  req: FastifyRequest,
): Promise<BrowserTrust | null> {
  return verifyTrust(ctx.keys, ctx.clock, cookieValue(req.headers.cookie, TRUST_COOKIE));
}

/**
 * The 30-day rule, pure: a browser may use the password for `userId` when
 * that account has no passkey yet (first setup, or every passkey removed),
 * or while the browser holds an unexpired trust token for that same user.
 * `trust` must already be verified (signature and expiry): see {@link verifyTrust}.
 */
export function passwordAllowedFromBrowser(userId: string, passkeyCount: number, trust: BrowserTrust | null): boolean {
  if (passkeyCount === 0) return true;
  return trust !== null && trust.userId === userId;
}

export async function passkeyCount(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('passkeys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * For password sign-in from a browser, after the password checked out:
 * throws `passkey_required` unless {@link passwordAllowedFromBrowser}.
 * CLI sign-in never calls this.
 */
export async function requireTrustedBrowser(
  ctx: Pick<ServerContext, 'db' | 'keys' | 'clock'>,
  req: FastifyRequest,
  userId: string,
): Promise<void> {
  const count = await passkeyCount(ctx.db, userId);
  if (count === 0) return;
  const trust = await browserTrust(ctx, req);
  if (!passwordAllowedFromBrowser(userId, count, trust)) {
    throw new FabricError(
      'passkey_required',
      'this browser is not trusted (new, or 30 days since its last passkey sign-in); sign in with your passkey',
    );
  }
}

export function setTrustCookie(req: FastifyRequest, reply: FastifyReply, token: string): void {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  reply.header(
    'set-cookie',
    `${TRUST_COOKIE}=${encodeURIComponent(token)}; Path=/api/auth; HttpOnly; SameSite=Strict; Max-Age=${TRUST_MS / 1000}${secure}`,
  );
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { z } from 'zod';
import { CHALLENGE_MS, Passkeys } from '../auth/passkeys.js';
import { relyingPartyFor } from '../auth/passkeys-origin.js';
import { browserTrust, setTrustCookie, signTrust } from '../auth/passkeys-trust.js';
import type { ServerContext } from '../context.js';
import { cookieValue, requireUser, setSessionCookie } from './auth.js';
import { RateLimiter } from './ratelimit.js';
import { parse } from './validate.js';

/** Holds the id of this browser's pending WebAuthn challenge; only the passkey routes see it. */
export const CEREMONY_COOKIE = 'fabric_webauthn';
const CEREMONY_PATH = '/api/auth/passkeys';

const b64url = z
  .string()
  .max(16_384)
  .regex(/^[A-Za-z0-9_-]*$/, 'must be base64url');
const extensionResults = z.record(z.string(), z.unknown()).default({});

const registrationResponseSchema = z.object({
  id: b64url.min(1).max(1024),
  rawId: b64url.min(1).max(1024),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: extensionResults,
  response: z.object({
    clientDataJSON: b64url,
    attestationObject: b64url,
    authenticatorData: b64url.optional(),
    transports: z.array(z.string().max(32)).max(10).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: b64url.optional(),
  }),
});

const authenticationResponseSchema = z.object({
  id: b64url.min(1).max(1024),
  rawId: b64url.min(1).max(1024),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: extensionResults,
  response: z.object({
    clientDataJSON: b64url,
    authenticatorData: b64url,
    signature: b64url,
    userHandle: b64url.optional(),
  }),
});

const registerVerifySchema = z.object({
  response: registrationResponseSchema,
  /** What the owner calls this passkey ("phone", "yubikey"). */
  label: z.string().max(64).optional(),
});
const authenticateVerifySchema = z.object({ response: authenticationResponseSchema });
const idParams = z.object({ id: b64url.min(1).max(1024) });

export interface PasskeyRouteOptions {
  /** FABRIC_PUBLIC_ORIGIN: pins the relying party (see relyingPartyFor). */
  publicOrigin?: string | undefined;
}

/**
 * Passkey sign-in under /api/auth/passkeys:
 * - `POST registration/options`, `POST registration/verify`: a signed-in user enrols a passkey;
 * - `POST authentication/options`, `POST authentication/verify`: usernameless sign-in, which
 *   sets the session cookie as password sign-in does;
 * - `GET /` lists the user's passkeys, `DELETE /:id` removes one;
 * - `GET trust` says whether this browser is trusted (and until when).
 * Both verifies also make this browser trusted for 30 days (the trust cookie).
 */
export function registerPasskeyRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  opts: PasskeyRouteOptions = {},
): Passkeys {
  const passkeys = new Passkeys(ctx.db, ctx.clock, ctx.log);
  const optionsLimiter = new RateLimiter(ctx.clock, 30, 60_000);
  const verifyLimiter = new RateLimiter(ctx.clock, 10, 60_000);
  const rp = (req: FastifyRequest) => relyingPartyFor(req, opts.publicOrigin);

  /** Trust this browser for `userId`, keeping its browser id if it already had one. */
  const trust = async (req: FastifyRequest, reply: FastifyReply, userId: string) => {
    const had = await browserTrust(ctx, req);
    const { token, trust } = await signTrust(ctx.keys, ctx.clock, userId, had?.browserId);
    setTrustCookie(req, reply, token);
    return trust.expiresAt;
  };

  app.post(`${CEREMONY_PATH}/registration/options`, async (req, reply) => {
    optionsLimiter.take(req.ip);
    const user = await requireUser(ctx, req);
    const { challengeId, options } = await passkeys.registrationOptions({ id: user.sub, name: user.name }, rp(req));
    setCeremonyCookie(req, reply, challengeId);
    return options;
  });

  app.post(`${CEREMONY_PATH}/registration/verify`, async (req, reply) => {
    verifyLimiter.take(req.ip);
    const user = await requireUser(ctx, req);
    const challengeId = cookieValue(req.headers.cookie, CEREMONY_COOKIE);
    clearCeremonyCookie(reply);
    verifyLimiter.take(`user:${user.sub}`); // and per account: one account's ceremonies share one budget
    const body = parse(registerVerifySchema, req.body);
    const passkey = await passkeys.verifyRegistration(
      user.sub,
      challengeId,
      body.response as RegistrationResponseJSON,
      body.label,
    );
    const trustedUntil = await trust(req, reply, user.sub);
    reply.code(201);
    return { passkey, trustedUntil };
  });

  app.post(`${CEREMONY_PATH}/authentication/options`, async (req, reply) => {
    optionsLimiter.take(req.ip);
    const { challengeId, options } = await passkeys.authenticationOptions(rp(req));
    setCeremonyCookie(req, reply, challengeId);
    return options;
  });

  app.post(`${CEREMONY_PATH}/authentication/verify`, async (req, reply) => {
    verifyLimiter.take(req.ip);
    const challengeId = cookieValue(req.headers.cookie, CEREMONY_COOKIE);
    clearCeremonyCookie(reply);
    const body = parse(authenticateVerifySchema, req.body);
    verifyLimiter.take(`credential:${body.response.id}`); // and per passkey, which names one account
    const user = await passkeys.verifyAuthentication(challengeId, body.response as AuthenticationResponseJSON);
    const auth = await ctx.accounts.signIn(user, 'browser');
    setSessionCookie(req, reply, auth.token);
    const trustedUntil = await trust(req, reply, user.id);
    // The token stays in the HttpOnly cookie: the page never needs it.
    return { user: auth.user, expiresAt: auth.expiresAt, trustedUntil };
  });

  app.get(CEREMONY_PATH, async (req) => {
    const user = await requireUser(ctx, req);
    return { passkeys: await passkeys.list(user.sub) };
  });

  app.delete(`${CEREMONY_PATH}/:id`, async (req, reply) => {
    const user = await requireUser(ctx, req);
    const { id } = parse(idParams, req.params, 'params');
    await passkeys.remove(user.sub, id);
    reply.code(204);
  });

  /** Public: only the browser holding the cookie learns anything, and only an expiry. */
  app.get(`${CEREMONY_PATH}/trust`, async (req) => {
    const t = await browserTrust(ctx, req);
    return { trusted: t !== null, expiresAt: t?.expiresAt ?? null };
  });

  return passkeys;
}

function setCeremonyCookie(req: FastifyRequest, reply: FastifyReply, id: string): void {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  reply.header(
    'set-cookie',
    `${CEREMONY_COOKIE}=${id}; Path=${CEREMONY_PATH}; HttpOnly; SameSite=Strict; Max-Age=${CHALLENGE_MS / 1000}${secure}`,
  );
}

function clearCeremonyCookie(reply: FastifyReply): void {
  reply.header('set-cookie', `${CEREMONY_COOKIE}=; Path=${CEREMONY_PATH}; HttpOnly; SameSite=Strict; Max-Age=0`);
}

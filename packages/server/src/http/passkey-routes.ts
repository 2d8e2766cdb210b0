import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { routes } from '@fabric/protocol';
import { CHALLENGE_MS, Passkeys } from '../auth/passkeys.js';
import { relyingPartyFor } from '../auth/passkeys-origin.js';
import { browserTrust, setTrustCookie, signTrust } from '../auth/passkeys-trust.js';
import type { ServerContext } from '../context.js';
import { cookieValue, setSessionCookie } from './auth.js';
import type { Bindings } from './bind.js';
import { RateLimiter } from './ratelimit.js';

/** Holds the id of this browser's pending WebAuthn challenge; only the passkey routes see it. */
export const CEREMONY_COOKIE = 'fabric_webauthn';
/** The ceremony cookie's Path: every passkey route is under the list's. */
const CEREMONY_PATH = routes.listPasskeys.path;

type PasskeyRoute =
  | 'passkeyRegistrationOptions'
  | 'passkeyRegistrationVerify'
  | 'passkeyAuthenticationOptions'
  | 'passkeyAuthenticationVerify'
  | 'listPasskeys'
  | 'deletePasskey'
  | 'passkeyTrust';

export interface PasskeyRouteOptions {
  /** FABRIC_PUBLIC_ORIGIN: pins the relying party (see relyingPartyFor). */
  publicOrigin?: string | undefined;
}

/**
 * Passkey sign-in (the table's `passkeyRoutes`): a signed-in user enrols
 * passkeys; anyone signs in with one, naming no user, which sets the session
 * cookie as password sign-in does. Both verifies also make this browser
 * trusted for 30 days (the trust cookie). Each ceremony is limited by
 * address before anything else, then by account (enrolment) or by passkey
 * (sign-in).
 */
export function passkeyBindings(
  ctx: ServerContext,
  opts: PasskeyRouteOptions = {},
): { passkeys: Passkeys; bindings: Bindings<PasskeyRoute> } {
  const passkeys = new Passkeys(ctx.db, ctx.clock, ctx.log);
  const optionsLimiter = new RateLimiter(ctx.clock, 30, 60_000);
  const verifyLimiter = new RateLimiter(ctx.clock, 10, 60_000);
  const rp = (req: FastifyRequest) => relyingPartyFor(req, opts.publicOrigin);
  const byAddress = (limiter: RateLimiter) => (req: FastifyRequest) => {
    limiter.take(req.ip);
  };

  /** Trust this browser for `userId`, keeping its browser id if it already had one. */
  const trust = async (req: FastifyRequest, reply: FastifyReply, userId: string) => {
    const had = await browserTrust(ctx, req);
    const { token, trust } = await signTrust(ctx.keys, ctx.clock, userId, had?.browserId);
    setTrustCookie(req, reply, token);
    return trust.expiresAt;
  };

  const bindings: Bindings<PasskeyRoute> = {
    passkeyRegistrationOptions: {
      before: byAddress(optionsLimiter),
      handle: async ({ caller: user, req, reply }) => {
        const { challengeId, options } = await passkeys.registrationOptions({ id: user.sub, name: user.name }, rp(req));
        setCeremonyCookie(req, reply, challengeId);
        return { ...options }; // a plain object: the contract passes WebAuthn's options through as they are
      },
    },

    passkeyRegistrationVerify: {
      before: byAddress(verifyLimiter),
      // The challenge is spent whatever comes next, and one account's ceremonies share one budget.
      guard: (user, _req, reply) => {
        clearCeremonyCookie(reply);
        verifyLimiter.take(`user:${user.sub}`);
      },
      handle: async ({ caller: user, req, reply, body }) => {
        const passkey = await passkeys.verifyRegistration(
          user.sub,
          cookieValue(req.headers.cookie, CEREMONY_COOKIE),
          body.response as RegistrationResponseJSON,
          body.label,
        );
        const trustedUntil = await trust(req, reply, user.sub);
        return { passkey, trustedUntil };
      },
    },

    passkeyAuthenticationOptions: {
      before: byAddress(optionsLimiter),
      handle: async ({ req, reply }) => {
        const { challengeId, options } = await passkeys.authenticationOptions(rp(req));
        setCeremonyCookie(req, reply, challengeId);
        return { ...options };
      },
    },

    passkeyAuthenticationVerify: {
      before: (req, reply) => {
        verifyLimiter.take(req.ip);
        clearCeremonyCookie(reply);
      },
      handle: async ({ req, reply, body }) => {
        verifyLimiter.take(`credential:${body.response.id}`); // and per passkey, which names one account
        const user = await passkeys.verifyAuthentication(
          cookieValue(req.headers.cookie, CEREMONY_COOKIE),
          body.response as AuthenticationResponseJSON,
        );
        const auth = await ctx.accounts.signIn(user, 'browser');
        setSessionCookie(req, reply, auth.token);
        const trustedUntil = await trust(req, reply, user.id);
        // The token stays in the HttpOnly cookie: the page never needs it.
        return { user: auth.user, expiresAt: auth.expiresAt, trustedUntil };
      },
    },

    listPasskeys: { handle: async ({ caller: user }) => ({ passkeys: await passkeys.list(user.sub) }) },

    deletePasskey: { handle: async ({ caller: user, params }) => passkeys.remove(user.sub, params.id) },

    /** Public: only the browser holding the cookie learns anything, and only an expiry. */
    passkeyTrust: {
      handle: async ({ req }) => {
        const t = await browserTrust(ctx, req);
        return { trusted: t !== null, expiresAt: t?.expiresAt ?? null };
      },
    },
  };
  return { passkeys, bindings };
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

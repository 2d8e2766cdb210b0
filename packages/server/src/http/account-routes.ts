import { openApiDocument, routes } from '@fabric/protocol';
import { requireTrustedBrowser } from '../auth/passkeys-trust.js';
import type { ServerContext } from '../context.js';
import { clearSessionCookie, setSessionCookie } from './auth.js';
import type { Bindings } from './bind.js';
import { RateLimiter } from './ratelimit.js';

type AccountRoute = 'health' | 'openApi' | 'redeem' | 'login' | 'logout' | 'me' | 'createInvite';

/** Liveness, the OpenAPI document, sign-in and sign-out, invites. */
export function accountBindings(ctx: ServerContext): Bindings<AccountRoute> {
  const { db, accounts } = ctx;
  // One budget per door, so failing at one never locks another: per address, and per account name for sign-in.
  const signInByAddress = new RateLimiter(ctx.clock, 10, 60_000);
  const signInByAccount = new RateLimiter(ctx.clock, 10, 60_000);
  const redeemLimiter = new RateLimiter(ctx.clock, 10, 60_000);
  let openApi: Record<string, unknown> | null = null;

  return {
    health: {
      handle: async () => {
        const row = await db
          .selectFrom('devices')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('online', '=', 1)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        return { ok: true, version: ctx.version, mode: ctx.mode, devicesOnline: Number(row?.n ?? 0) };
      },
    },

    openApi: {
      handle: async () =>
        (openApi ??= openApiDocument(routes, {
          version: ctx.version,
          description:
            'The control plane of Fabric. Errors answer `{code, message}` with a stable code; a refused request part is 400 `bad_request` naming the field.',
        })),
    },

    redeem: {
      handle: async ({ req, reply, body }) => {
        const auth = await redeemLimiter.guard(`ip:${req.ip}`, ['invite_invalid'], () =>
          accounts.redeem(body.code, body.name, body.password, body.client),
        );
        if (body.client === 'browser') setSessionCookie(req, reply, auth.token);
        return auth;
      },
    },

    // Only failed attempts spend the budgets (per address, per account name): guessing is slowed, people who type it right never are.
    login: {
      handle: async ({ req, reply, body }) => {
        const auth = await signInByAddress.guard(`ip:${req.ip}`, ['login_failed'], () =>
          signInByAccount.guard(`name:${body.name}`, ['login_failed'], () =>
            accounts.login(body.name, body.password, body.client),
          ),
        );
        if (body.client === 'browser') {
          // The 30-day rule: once an account has a passkey, a browser uses the password only while it is trusted.
          await requireTrustedBrowser(ctx, req, auth.user.id);
          setSessionCookie(req, reply, auth.token);
        }
        return auth;
      },
    },

    logout: {
      handle: async ({ reply }) => {
        clearSessionCookie(reply);
        return { ok: true };
      },
    },

    me: {
      handle: async ({ caller: user }) => ({
        id: user.sub,
        name: user.name,
        role: user.role,
        expiresAt: user.exp * 1000,
      }),
    },

    createInvite: {
      owner: { action: 'invite', refusal: 'only an owner can invite people' },
      handle: async ({ caller: user, body }) => accounts.createInvite(user.sub, body.role),
    },
  };
}

import { policy } from '../auth/policy.js';
import type { ServerContext } from '../context.js';
import { readFuel } from '../fuel/query.js';
import { getSessionView, listSessionViews, readEvents, sessionFor } from '../store/sessions.js';
import type { Bindings } from './bind.js';
import { IdempotentCreates } from './idempotency.js';
import { streamSession } from './sse.js';

type SessionRoute =
  | 'createSession'
  | 'listSessions'
  | 'getSession'
  | 'sessionEvents'
  | 'streamSession'
  | 'sendInput'
  | 'listApprovals'
  | 'decideApproval'
  | 'cancelSession'
  | 'fuel';

/**
 * Sessions and what hangs off them. Each loads its session through
 * `sessionFor`, which answers `session_not_found` for one the caller may not
 * read and `forbidden` for one they may read but not steer.
 */
export function sessionBindings(ctx: ServerContext): Bindings<SessionRoute> {
  const { db, sessions } = ctx;
  const idempotent = new IdempotentCreates(db, ctx.clock);

  return {
    // A retry with the same Idempotency-Key answers 201 with the same session (and `Idempotent-Replayed: true`); no second run starts.
    createSession: {
      handle: async ({ caller: user, body, headers, reply }) => {
        const key = headers['idempotency-key'];
        if (key === undefined) return sessions.create(user, body);
        const { view, replayed } = await idempotent.create(user.sub, key, body, (id) =>
          sessions.create(user, body, id),
        );
        if (replayed) void reply.header('idempotent-replayed', 'true');
        return view;
      },
    },

    listSessions: {
      handle: async ({ caller: user, query }) => ({
        sessions: await listSessionViews(db, {
          limit: query.limit,
          deviceId: query.device,
          status: query.status,
          viewer: user,
        }),
      }),
    },

    getSession: {
      handle: async ({ caller: user, params }) => {
        await sessionFor(db, user, params.id, 'read');
        return (await getSessionView(db, params.id))!;
      },
    },

    sessionEvents: {
      handle: async ({ caller: user, params, query }) => {
        await sessionFor(db, user, params.id, 'read');
        return {
          session: (await getSessionView(db, params.id))!,
          events: await readEvents(db, params.id, query.after, query.limit),
        };
      },
    },

    streamSession: {
      handle: async ({ caller: user, params, query, headers, reply }) => {
        await sessionFor(db, user, params.id, 'read');
        await streamSession(ctx, reply, params.id, { lastEventId: headers['last-event-id'], after: query.after });
      },
    },

    sendInput: {
      handle: async ({ caller: user, params, body }) => {
        await sessionFor(db, user, params.id, 'steer');
        const event = await sessions.input(params.id, body.data, body.eof ?? false);
        return { seq: event.seq };
      },
    },

    listApprovals: {
      handle: async ({ caller: user, params }) => {
        await sessionFor(db, user, params.id, 'read');
        return { approvals: await sessions.approvals.list(params.id) };
      },
    },

    // Approvals are answered only by the session's creator or an owner.
    decideApproval: {
      handle: async ({ caller: user, params, body }) => {
        await sessionFor(db, user, params.id, 'steer');
        return sessions.approvals.decide(params.id, params.req, body.decision, body.reason, user.sub);
      },
    },

    cancelSession: {
      handle: async ({ caller: user, params, body }) => {
        await sessionFor(db, user, params.id, 'steer');
        return sessions.cancel(params.id, body.reason);
      },
    },

    fuel: {
      // A member's meter counts their own sessions; an owner's, the whole fleet.
      handle: async ({ caller: user, query }) =>
        readFuel(db, ctx.clock.now(), query.tzOffset, policy.account(user, 'read_all_fuel') ? null : user.sub),
    },
  };
}

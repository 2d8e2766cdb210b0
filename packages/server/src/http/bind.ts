import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  FabricError,
  type DeviceClaims,
  type RouteDef,
  type RouteName,
  type RoutePart,
  type Routes,
  type RouteTable,
  type UserClaims,
} from '@fabric/protocol';
import type { z } from 'zod';
import type { ServerContext } from '../context.js';
import { authenticate, type OwnerRule } from './auth.js';
import { parse } from './validate.js';

/** An owner (signed in) or a device (with its own token), as `owner_or_device` routes see their caller. */
export type OwnerOrDevice = { kind: 'user'; user: UserClaims } | { kind: 'device'; device: DeviceClaims };

/** Who called a route, by its `auth`: nobody (public), a person, a device, or either. */
export type CallerOf<R> = R extends { readonly auth: 'public' }
  ? null
  : R extends { readonly auth: 'user' | 'owner' }
    ? UserClaims
    : R extends { readonly auth: 'device' }
      ? DeviceClaims
      : OwnerOrDevice;

/** What a handler receives: the caller, and every declared request part parsed by its schema. */
export interface Call<R> {
  caller: CallerOf<R>;
  params: RoutePart<R, 'params'>;
  query: RoutePart<R, 'query'>;
  headers: RoutePart<R, 'headers'>;
  body: RoutePart<R, 'body'>;
  req: FastifyRequest;
  reply: FastifyReply;
}

/**
 * A route's handler: it answers the route's response (sent with the route's
 * status), nothing for a route without a body, or nothing for a stream it
 * answers itself.
 */
export type Handle<R> = R extends { readonly kind: 'sse' }
  ? (call: Call<R>) => Promise<void>
  : R extends { readonly response: infer S extends z.ZodType }
    ? (call: Call<R>) => Promise<z.output<S>>
    : (call: Call<R>) => Promise<void>;

/**
 * How the server serves one route of the table. The pipeline, in order:
 * `before` (limits by address, before anyone is known), authentication from
 * the table's `auth` (and `owner`'s policy action), `guard` (limits by the
 * person), then params, query, body and headers parsed by the table's
 * schemas (400 `bad_request` naming the field), then `handle`.
 */
export type Binding<R> = {
  before?: (req: FastifyRequest, reply: FastifyReply) => void | Promise<void>;
  guard?: (caller: CallerOf<R>, req: FastifyRequest, reply: FastifyReply) => void | Promise<void>;
  handle: Handle<R>;
} & (R extends { readonly auth: 'owner' | 'owner_or_device' }
  ? {
      /** The policy action an owner-only route asks for, and what a member is told. */
      owner: OwnerRule;
    }
  : unknown);

/** A binding for each route named in `K` (a group's share of the table). */
export type Bindings<K extends RouteName> = { [P in K]: Binding<Routes[P]> };

/** A binding for every route of `T` that Fastify serves (WebSockets are the gateway's). */
export type Handlers<T extends RouteTable> = {
  [K in keyof T as T[K] extends { readonly kind: 'websocket' } ? never : K]: Binding<T[K]>;
};

/** A binding with its route's types erased, as the loop below handles every route alike. */
interface AnyBinding {
  before?: (req: FastifyRequest, reply: FastifyReply) => void | Promise<void>;
  guard?: (caller: unknown, req: FastifyRequest, reply: FastifyReply) => void | Promise<void>;
  handle: (call: Call<unknown>) => Promise<unknown>;
  owner?: OwnerRule;
}

export interface BindOptions {
  /**
   * Parse every JSON answer with its route's response schema and fail the
   * request (500, logged) when it does not match or carries a field the
   * schema does not declare. For tests: it proves the table tells the truth.
   */
  checkResponses?: boolean;
}

/**
 * Register every route of `table` on `app` from its entry: method and path,
 * the local-mode refusal of cloud-only routes, authentication, validation,
 * the success status and, for routes without a body, the empty answer.
 */
export function bindRoutes<T extends RouteTable>(
  app: FastifyInstance,
  ctx: ServerContext,
  table: T,
  handlers: Handlers<T>,
  opts: BindOptions = {},
): void {
  const bindings = handlers as unknown as Record<string, AnyBinding | undefined>;
  for (const [name, route] of Object.entries(table)) {
    if (route.kind === 'websocket') continue;
    const binding = bindings[name];
    if (!binding) throw new Error(`route ${name} has no handler`);
    app.route({
      method: route.method,
      url: route.path,
      ...(route.cloudOnly && ctx.mode === 'local' ? { onRequest: refuseInLocalMode } : {}),
      handler: async (req, reply) => {
        await binding.before?.(req, reply);
        const caller = await authenticate(ctx, req, route.auth, binding.owner);
        await binding.guard?.(caller, req, reply);
        const answer = await binding.handle({
          caller,
          params: route.params ? parse(route.params, req.params, 'params') : undefined,
          query: route.query ? parse(route.query, req.query, 'query') : undefined,
          body: route.body ? parse(route.body, req.body) : undefined,
          headers: route.headers ? parse(route.headers, req.headers, 'headers') : undefined,
          req,
          reply,
        } as Call<unknown>);
        if (route.kind === 'sse') return reply; // the handler answered (204) or took the socket over
        if (opts.checkResponses) checkAnswer(name, route, answer);
        void reply.code(route.status ?? 200);
        return route.response === null ? reply.send() : answer;
      },
    });
  }
}

/** In local mode the cloud-only routes answer 410 with a body that says why, so one build serves both modes. */
async function refuseInLocalMode(req: FastifyRequest): Promise<void> {
  const path = req.url.split('?')[0] ?? '';
  throw new FabricError(
    'cloud_only',
    `${path} is a fabric (cloud) feature; this control plane runs in local mode (FABRIC_MODE=local)`,
  );
}

function checkAnswer(name: string, route: RouteDef, answer: unknown): void {
  if (route.response === null) {
    if (answer !== undefined) throw new Error(`${name} answered a body, but its route declares none`);
    return;
  }
  const parsed = route.response.safeParse(answer);
  if (!parsed.success) {
    throw new Error(`${name} answered what its response schema refuses: ${JSON.stringify(parsed.error.issues[0])}`);
  }
  const extra = undeclared(answer, parsed.data, '');
  if (extra !== null) throw new Error(`${name} answered ${extra}, which its response schema does not declare`);
}

/** The path of the first field of `sent` that parsing with its schema dropped (`kept`), or null. */
function undeclared(sent: unknown, kept: unknown, at: string): string | null {
  if (Array.isArray(sent) && Array.isArray(kept)) {
    for (let i = 0; i < sent.length; i++) {
      const found = undeclared(sent[i], kept[i], `${at}[${i}]`);
      if (found !== null) return found;
    }
    return null;
  }
  if (!isObject(sent) || !isObject(kept)) return null;
  for (const [key, value] of Object.entries(sent)) {
    if (value === undefined) continue;
    if (!(key in kept)) return `${at}.${key}`;
    const found = undeclared(value, kept[key], `${at}.${key}`);
    if (found !== null) return found;
  }
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

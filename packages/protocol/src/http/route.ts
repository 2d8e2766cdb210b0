import type { z } from 'zod';

/**
 * Who may call a route, by the credential it carries. The control plane
 * authenticates every route once, from this, before its handler runs.
 *
 * - `public`: no credential.
 * - `user`: a signed-in person: `Authorization: Bearer <token>` with a CLI or
 *   browser token, or the browser session cookie (`fabric_session`), in which
 *   case every write must also send `x-fabric-csrf: 1`.
 * - `owner`: as `user`, and the person's role is `owner`.
 * - `device`: a paired device, with its own device token.
 * - `owner_or_device`: an owner, or a device with its own token (the route
 *   then answers only about that device).
 *
 * What a signed-in person may see or change inside a route (their own
 * sessions, devices shared with them) is the server's policy, not this.
 */
export const routeAuths = ['public', 'user', 'owner', 'device', 'owner_or_device'] as const;
export type RouteAuth = (typeof routeAuths)[number];

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * - `json`: JSON in (query, body) and out.
 * - `sse`: `text/event-stream`; each event's `data:` is `response` as JSON.
 * - `websocket`: an upgrade to a WebSocket that carries one envelope per
 *   text frame; the token travels in `Sec-WebSocket-Protocol`.
 */
export type RouteKind = 'json' | 'sse' | 'websocket';

/** A success status a route answers with. */
export type SuccessStatus = 200 | 201 | 202 | 204;

/**
 * One HTTP route of the control plane, declared once: the server registers
 * it, the typed client calls it and the OpenAPI document describes it, all
 * from this. Schemas parse the raw request part (`params`, `query`,
 * `headers`: strings as they arrive; `body`: JSON); `response` is what a
 * success answer's body holds (null: no body).
 */
export interface RouteDef {
  readonly method: HttpMethod;
  /** Fastify-style: `:name` marks a path parameter, named in `params`. */
  readonly path: `/${string}`;
  /** The group it belongs to (an OpenAPI tag). */
  readonly tag: string;
  /** One line: what it does. */
  readonly summary: string;
  /** More words, when one line is not enough (who sees what, limits). */
  readonly description?: string;
  readonly auth: RouteAuth;
  /** `json` when absent. */
  readonly kind?: RouteKind;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly headers?: z.ZodType;
  readonly body?: z.ZodType;
  /** 200 when absent. */
  readonly status?: SuccessStatus;
  readonly response: z.ZodType | null;
  /** Answers `410 cloud_only` on a control plane in local mode. */
  readonly cloudOnly?: boolean;
  /**
   * The server deduplicates retries carrying the same `Idempotency-Key`
   * header: a client sends one random key per logical request and the same
   * key on every retry of it.
   */
  readonly idempotent?: boolean;
}

/** A table of routes, keyed by operation name (`getSession`). */
export type RouteTable = Readonly<Record<string, RouteDef>>;

/** Keeps each route's literal types (method, path, schemas) while checking it is a route. */
export function defineRoutes<const T extends RouteTable>(table: T): T {
  return table;
}

/** The parsed (output) type of one request part of a route; `undefined` when the route has none. */
export type RoutePart<R, K extends 'params' | 'query' | 'headers' | 'body'> =
  R extends Readonly<Record<K, infer S extends z.ZodType>> ? z.output<S> : undefined;

/** What a success answer of a route holds, parsed; `undefined` for no body. */
export type RouteResponse<R> = R extends { readonly response: infer S extends z.ZodType } ? z.output<S> : undefined;

/** What a caller passes for one part: required when the schema needs something, optional when all of it has defaults. */
type InputPart<R, K extends 'params' | 'query' | 'body'> =
  R extends Readonly<Record<K, infer S extends z.ZodType>>
    ? object extends z.input<S>
      ? Partial<Readonly<Record<K, z.input<S>>>>
      : Readonly<Record<K, z.input<S>>>
    : unknown;

/** What a client passes to call a route: its path parameters, query and body as the schemas take them, and extra headers. */
export type RouteInput<R> = InputPart<R, 'params'> &
  InputPart<R, 'query'> &
  InputPart<R, 'body'> & { readonly headers?: Readonly<Record<string, string>> };

/** The names of a route's path parameters, in order (`/api/sessions/:id/approvals/:req` → `['id', 'req']`). */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}

/** A value of a path parameter or a query field, as it goes into a URL. */
export type UrlValue = string | number | boolean | null | undefined;

/**
 * The path of a route with its parameters filled in, each URI-encoded.
 * Throws (a bug in the caller) when one is missing.
 */
export function fillPath(path: string, params: Readonly<Record<string, UrlValue>> = {}): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined || value === null) throw new Error(`${path}: missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
}

/** `?a=1&b=x` from the defined values of `query` (empty when there are none). */
export function queryString(query: Readonly<Record<string, UrlValue>> = {}): string {
  const pairs = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return pairs.length > 0 ? `?${pairs.join('&')}` : '';
}

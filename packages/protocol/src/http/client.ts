import { errorBodySchema, FabricError, type ErrorBody } from '../errors.js';
import { newId } from '../ids.js';
import {
  fillPath,
  queryString,
  type HttpMethod,
  type RouteDef,
  type RouteInput,
  type RouteResponse,
  type RouteTable,
  type UrlValue,
} from './route.js';

/** What the client hands `fetch`: a subset of `RequestInit` that browsers and Node both take. */
export interface FetchInit {
  method: HttpMethod;
  headers: Record<string, string>;
  body?: string;
  credentials?: 'same-origin' | 'include' | 'omit';
}

/** What the client reads of `fetch`'s answer; the platform's own `Response` is one. */
export interface FetchResponse {
  readonly ok: boolean;
  readonly status: number;
  text(): Promise<string>;
}

/** `fetch` as the client calls it; pass the platform's (`(url, init) => fetch(url, init)`). */
export type FetchLike<Res extends FetchResponse = FetchResponse> = (url: string, init: FetchInit) => Promise<Res>;

/** How requests prove who sends them. */
export interface AuthStrategy {
  /** Headers every request with this method carries. */
  headers(method: HttpMethod): Record<string, string>;
  /** `fetch`'s `credentials`, for cookies. */
  readonly credentials?: 'same-origin' | 'include' | 'omit';
}

/** No credential: public routes only. */
export const anonymousAuth: AuthStrategy = { headers: () => ({}) };

/** `Authorization: Bearer <token>`: the CLI, scripts, a device with its own token. */
export function bearerAuth(token: string): AuthStrategy {
  return { headers: () => ({ authorization: `Bearer ${token}` }) };
}

/** The browser's session cookie (same origin); writes carry the CSRF header the server asks of cookie requests. */
export const cookieAuth: AuthStrategy = {
  credentials: 'same-origin',
  headers: (method) => (method === 'GET' ? {} : { 'x-fabric-csrf': '1' }),
};

export interface ClientOptions<Res extends FetchResponse> {
  /** The control plane's origin (`http://127.0.0.1:7300`); `''` for the page's own origin. */
  baseUrl: string;
  auth: AuthStrategy;
  fetch: FetchLike<Res>;
  /** The error to throw when the server cannot be reached; a `server_unreachable` FabricError by default. */
  unreachable?: (cause: unknown) => Error;
  /**
   * The error to throw for an answer that is not 2xx: `body` is its
   * `{code, message}`, or null when it had none. A FabricError of that code
   * by default.
   */
  failure?: (status: number, body: ErrorBody | null) => Error;
  /**
   * Retries for idempotent routes (`idempotent` in the table) when the
   * server could not be reached: the same `Idempotency-Key` is sent on every
   * attempt, so a lost answer never makes a second one. None by default.
   */
  retry?: { attempts: number; wait: (attempt: number) => Promise<void> };
}

/** What a call takes at run time, whatever the route. */
interface AnyInput {
  readonly params?: Readonly<Record<string, UrlValue>>;
  readonly query?: Readonly<Record<string, UrlValue>>;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The arguments of a call: the input may be left out when nothing in it is required. */
type InputArgs<R> = object extends RouteInput<R> ? [input?: RouteInput<R>] : [input: RouteInput<R>];

/** A route's call: its input in, its parsed answer out. */
export type RouteMethod<R> = (...args: InputArgs<R>) => Promise<RouteResponse<R>>;

/** Only JSON routes are methods; streams and sockets go through `$open` and `$url`. */
type JsonRouteNames<T> = {
  [K in keyof T]: T[K] extends { readonly kind: 'sse' | 'websocket' } ? never : K;
}[keyof T];

/**
 * A typed client for a route table: one method per JSON route, named as in
 * the table (`client.getSession({ params: { id } })`), whose input is what
 * the route's schemas take and whose answer is parsed with its response
 * schema.
 */
export type Client<T extends RouteTable, Res extends FetchResponse = FetchResponse> = {
  readonly [K in JsonRouteNames<T>]: RouteMethod<T[K]>;
} & {
  readonly baseUrl: string;
  /** The full URL of a route (for an EventSource, a WebSocket, a link). */
  $url<K extends keyof T & string>(name: K, ...args: InputArgs<T[K]>): string;
  /** Send a request and hand back the raw 2xx answer, unread (streams); failures throw as calls do. */
  $open<K extends keyof T & string>(name: K, ...args: InputArgs<T[K]>): Promise<Res>;
};

/**
 * Make a client for `table`. Every failure throws: unreachable (see
 * `unreachable`), a non-2xx answer (see `failure`), and an answer whose body
 * its route's schema refuses (`internal`: client and server disagree on the
 * contract). A 204 answers `undefined`.
 */
export function createClient<T extends RouteTable, Res extends FetchResponse>(
  table: T,
  options: ClientOptions<Res>,
): Client<T, Res> {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const unreachable =
    options.unreachable ??
    (() => new FabricError('server_unreachable', `cannot reach ${baseUrl || 'the control plane'}`));
  const failure =
    options.failure ??
    ((status: number, body: ErrorBody | null) =>
      body ? new FabricError(body.code, body.message) : new FabricError('internal', `the server answered ${status}`));

  const routeOf = (name: string): RouteDef => {
    const route = table[name];
    if (!route) throw new Error(`no route named ${name}`);
    return route;
  };
  const urlOf = (route: RouteDef, input: AnyInput) =>
    baseUrl + fillPath(route.path, input.params) + queryString(input.query);

  const send = async (route: RouteDef, input: AnyInput): Promise<Res> => {
    // Writes always carry JSON ({} when the route takes no body), as the server reads a missing body as {}.
    const hasBody = route.method !== 'GET' && (route.method !== 'DELETE' || input.body !== undefined);
    const key = route.idempotent ? newId('idem') : null;
    const init: FetchInit = {
      method: route.method,
      headers: {
        ...options.auth.headers(route.method),
        ...(hasBody ? { 'content-type': 'application/json' } : {}),
        ...(key === null ? {} : { 'idempotency-key': key }),
        ...input.headers,
      },
      ...(hasBody ? { body: JSON.stringify(input.body ?? {}) } : {}),
      ...(options.auth.credentials ? { credentials: options.auth.credentials } : {}),
    };
    const attempts = key !== null && options.retry ? options.retry.attempts : 1;
    for (let attempt = 1; ; attempt++) {
      let res: Res;
      try {
        res = await options.fetch(urlOf(route, input), init);
      } catch (cause) {
        if (attempt < attempts && options.retry) {
          await options.retry.wait(attempt);
          continue;
        }
        throw unreachable(cause);
      }
      if (!res.ok) throw failure(res.status, await errorBodyOf(res));
      return res;
    }
  };

  const call = async (route: RouteDef, input: AnyInput): Promise<unknown> => {
    const res = await send(route, input);
    if (route.response === null || res.status === 204) return undefined;
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw mismatch(route, 'a body that is not json');
    }
    const parsed = route.response.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw mismatch(route, issue ? `${issue.path.map(String).join('.') || 'body'}: ${issue.message}` : 'a bad body');
    }
    return parsed.data;
  };

  const client: Record<string, unknown> = {
    baseUrl,
    $url: (name: string, input: AnyInput = {}) => urlOf(routeOf(name), input),
    $open: (name: string, input: AnyInput = {}) => send(routeOf(name), input),
  };
  for (const [name, route] of Object.entries(table)) {
    if (route.kind === 'sse' || route.kind === 'websocket') continue;
    client[name] = (input: AnyInput = {}) => call(route, input);
  }
  return client as Client<T, Res>;
}

async function errorBodyOf(res: FetchResponse): Promise<ErrorBody | null> {
  try {
    const parsed = errorBodySchema.safeParse(JSON.parse(await res.text()));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function mismatch(route: RouteDef, what: string): FabricError {
  return new FabricError(
    'internal',
    `the control plane answered ${route.method} ${route.path} with ${what}; are the client and the server the same version?`,
  );
}

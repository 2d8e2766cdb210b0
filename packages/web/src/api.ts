import { cookieAuth, createClient, routes, type Client, type ErrorCode, type Routes } from '@fabric/protocol';

/** A failed call: the server's stable code and its one-line advice. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode | 'network',
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export const onSignedOut = new Set<(err: ApiError) => void>();

/**
 * The control plane's HTTP API, one method per route of the table
 * (`api.getSession({ params: { id } })`), over fetch with the session
 * cookie; writes carry the CSRF header the server requires of cookie
 * requests. Every failure is an ApiError; a 401 also fires `onSignedOut`
 * so the app can show the sign-in screen. Starting a session sends one
 * `Idempotency-Key` per logical request and reuses it when the network
 * loses the answer, so a retry never starts a second run.
 */
export const api: Client<Routes, Response> = createClient(routes, {
  baseUrl: '',
  auth: cookieAuth,
  fetch: (url, init) => fetch(url, init),
  unreachable: () => new ApiError('network', 'cannot reach the control plane; check your connection', 0),
  failure: (status, body) => {
    const err = new ApiError(body?.code ?? 'internal', body?.message ?? `request failed (${status})`, status);
    if (status === 401) onSignedOut.forEach((f) => f(err));
    return err;
  },
  retry: { attempts: 3, wait: (attempt) => new Promise((r) => setTimeout(r, 500 * attempt)) },
});

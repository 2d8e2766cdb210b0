import { newId, type ErrorCode } from '@fabric/protocol';

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

/**
 * JSON over fetch with the session cookie. Writes carry the CSRF header the
 * server requires of cookie-authenticated requests. A 401 fires
 * `onSignedOut` so the app can show the sign-in screen.
 */
export async function call<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        ...(method === 'GET' ? {} : { 'x-fabric-csrf': '1' }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError('network', 'cannot reach the control plane; check your connection', 0);
  }
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => null)) as (T & { code?: ErrorCode; message?: string }) | null;
  if (!res.ok) {
    const err = new ApiError(data?.code ?? 'internal', data?.message ?? `request failed (${res.status})`, res.status);
    if (res.status === 401) onSignedOut.forEach((f) => f(err));
    throw err;
  }
  return data as T;
}

export const onSignedOut = new Set<(err: ApiError) => void>();

export const get = <T>(path: string) => call<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}) => call<T>('POST', path, body);
export const patch = <T>(path: string, body: unknown) => call<T>('PATCH', path, body);
export const put = <T>(path: string, body: unknown) => call<T>('PUT', path, body);

/**
 * A POST the server deduplicates by its `Idempotency-Key` (starting a
 * session): one key per logical request, reused when the network loses the
 * answer, so a retry never starts a second run.
 */
export async function postOnce<T>(path: string, body: unknown): Promise<T> {
  const key = newId('idem'); // crypto.randomUUID needs a secure context; a LAN address over http is not one
  for (let attempt = 1; ; attempt++) {
    try {
      return await call<T>('POST', path, body, { 'idempotency-key': key });
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'network') || attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}
export const del = <T>(path: string) => call<T>('DELETE', path);

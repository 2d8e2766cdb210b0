import type { ErrorCode } from '@fabric/protocol';

/** A failed call: the server's stable code and its one-line advice. */
export class ApiError extends Error {
  constructor(readonly code: ErrorCode | 'network', message: string, readonly status: number) {
    super(message);
  }
}

/**
 * JSON over fetch with the session cookie. Writes carry the CSRF header the
 * server requires of cookie-authenticated requests. A 401 fires
 * `onSignedOut` so the app can show the sign-in screen.
 */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        ...(method === 'GET' ? {} : { 'x-fabric-csrf': '1' }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
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
export const del = <T>(path: string) => call<T>('DELETE', path);

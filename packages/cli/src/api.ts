import { randomUUID } from 'node:crypto';
import { FabricError, errorBodySchema } from '@fabric/protocol';
import { dataDir, readCliFile, serverUrl, type GlobalOptions } from './context.js';

/** A thin JSON client for the control plane; every failure becomes a FabricError. */
export class Api {
  constructor(
    readonly server: string,
    private readonly token: string | null,
  ) {}

  /** Client for the signed-in user of this data directory; throws `not_logged_in` if there is none. */
  static forUser(opts: GlobalOptions): Api {
    const dir = dataDir(opts);
    const cli = readCliFile(dir);
    const server = serverUrl(opts, cli);
    if (!cli) {
      throw new FabricError(
        'not_logged_in',
        `no sign-in in ${dir}; run "optimal up", or "optimal login --server ${server} --user NAME"`,
      );
    }
    if (cli.server.replace(/\/+$/, '') !== server) {
      throw new FabricError(
        'not_logged_in',
        `signed in to ${cli.server}, not ${server}; run "optimal login --server ${server}"`,
      );
    }
    return new Api(server, cli.token);
  }

  static anonymous(opts: GlobalOptions): Api {
    return new Api(serverUrl(opts), null);
  }

  async get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  async post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  /**
   * A POST the server deduplicates by its `Idempotency-Key` (starting a
   * session): one random key for this logical request, sent again on each
   * retry after the connection failed, so a lost answer never starts a
   * second run. Throws `server_unreachable` after the last attempt.
   */
  async postOnce<T>(path: string, body: unknown, attempts = 3): Promise<T> {
    const key = randomUUID();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request<T>('POST', path, body, { 'idempotency-key': key });
      } catch (err) {
        if (!(err instanceof FabricError && err.code === 'server_unreachable') || attempt >= attempts) throw err;
        await new Promise((r) => setTimeout(r, 300 * attempt));
      }
    }
  }

  async patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }

  async put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  /** Raw fetch with auth, for streams. */
  async open(path: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.server + path, {
        headers: { ...this.authHeader(), ...headers },
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw this.unreachable();
    }
    if (!res.ok) throw await this.failure(res);
    return res;
  }

  /** Any method; a 204 answer resolves with undefined. */
  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.server + path, {
        method,
        headers: {
          ...this.authHeader(),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw this.unreachable();
    }
    if (!res.ok) throw await this.failure(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  private authHeader(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  private unreachable(): FabricError {
    return new FabricError(
      'server_unreachable',
      `cannot reach ${this.server}; is the control plane running ("optimal up" or "optimal serve")?`,
    );
  }

  private async failure(res: Response): Promise<FabricError> {
    const text = await res.text().catch(() => '');
    try {
      const body = errorBodySchema.parse(JSON.parse(text));
      if (body.code === 'token_expired')
        return new FabricError('token_expired', 'your sign-in expired; run "optimal login" again');
      return new FabricError(body.code, body.message);
    } catch {
      return new FabricError('internal', `${this.server} answered ${res.status} without an error body`);
    }
  }
}

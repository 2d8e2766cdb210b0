import {
  anonymousAuth,
  bearerAuth,
  createClient,
  FabricError,
  routes,
  type Client,
  type Routes,
} from '@fabric/protocol';
import { dataDir, readCliFile, serverUrl, type GlobalOptions } from './context.js';

/**
 * The control plane's HTTP API as the CLI calls it: one method per route of
 * the table (`api.getSession({ params: { id } })`), typed by its schemas;
 * `api.baseUrl` is the server. Every failure is a FabricError whose message
 * is the one line the CLI prints.
 */
export type Api = Client<Routes, Response>;

/** A client for `server`, signed in with `token` (a person's or a device's), or anonymous. */
function apiAt(server: string, token: string | null): Api {
  return createClient(routes, {
    baseUrl: server,
    auth: token ? bearerAuth(token) : anonymousAuth,
    fetch: (url, init) => fetch(url, init),
    unreachable: () =>
      new FabricError(
        'server_unreachable',
        `cannot reach ${server}; is the control plane running ("optimal up" or "optimal serve")?`,
      ),
    failure: (status, body) => {
      if (!body) return new FabricError('internal', `${server} answered ${status} without an error body`);
      if (body.code === 'token_expired')
        return new FabricError('token_expired', 'your sign-in expired; run "optimal login" again');
      return new FabricError(body.code, body.message);
    },
    // Starting a session is idempotent: a lost answer is retried with the same key, and never starts a second run.
    retry: { attempts: 3, wait: (attempt) => new Promise((r) => setTimeout(r, 300 * attempt)) },
  });
}

export const Api = {
  at: apiAt,

  /** Client for the signed-in user of this data directory; throws `not_logged_in` if there is none. */
  forUser(opts: GlobalOptions): Api {
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
    return apiAt(server, cli.token);
  },

  anonymous(opts: GlobalOptions): Api {
    return apiAt(serverUrl(opts), null);
  },
};

import { accountRoutes } from './account-routes.js';
import { boardRoutes } from './board-routes.js';
import { deviceRoutes } from './device-routes.js';
import { passkeyRoutes } from './passkey-routes.js';
import { pushRoutes } from './push-routes.js';
import { sessionRoutes } from './session-routes.js';
import { vaultRoutes } from './vault-routes.js';

/**
 * Every HTTP route of the control plane, by operation name: the server
 * registers from this, the CLI and the cockpit call through it (see
 * `createClient`), and `GET /api/openapi.json` describes it.
 */
export const routes = {
  ...accountRoutes,
  ...passkeyRoutes,
  ...deviceRoutes,
  ...sessionRoutes,
  ...boardRoutes,
  ...vaultRoutes,
  ...pushRoutes,
};
export type Routes = typeof routes;
export type RouteName = keyof Routes;

/** The groups the table is built from, for checks that no name is declared twice. */
export const routeGroups = [
  accountRoutes,
  passkeyRoutes,
  deviceRoutes,
  sessionRoutes,
  boardRoutes,
  vaultRoutes,
  pushRoutes,
] as const;

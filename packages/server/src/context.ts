import type { Accounts } from './auth/accounts.js';
import type { KeyRing } from './auth/keyring.js';
import type { Tokens } from './auth/tokens.js';
import type { Bus } from './bus.js';
import type { Clock } from './clock.js';
import type { Logger } from './log.js';
import type { SessionService } from './sessions/service.js';
import type { EventWriter } from './sessions/writer.js';
import type { Db } from './store/db.js';
import type { VaultStore } from './vault/store.js';
import type { BoardStore } from './board/store.js';

/** Everything a route handler may use; built once in `startServer`. */
export interface ServerContext {
  db: Db;
  bus: Bus;
  clock: Clock;
  log: Logger;
  keys: KeyRing;
  tokens: Tokens;
  accounts: Accounts;
  sessions: SessionService;
  writer: EventWriter;
  vault: VaultStore;
  board: BoardStore;
  mode: 'local' | 'cloud';
  version: string;
  /** SSE keepalive comment period. */
  keepaliveMs: number;
}

export { Accounts } from './auth/accounts.js';
export { KeyRing } from './auth/keyring.js';
export { Tokens } from './auth/tokens.js';
export { InProcessBus, topics, type Bus } from './bus.js';
export { FakeClock, systemClock, type Clock } from './clock.js';
export { consoleLogger, silentLogger, type Logger } from './log.js';
export {
  buildServer,
  dbFile,
  startServer,
  SERVER_VERSION,
  type BuiltServer,
  type RunningServer,
  type ServerOptions,
} from './server.js';
export { isPostgresUrl, openPostgres, openSqlite, openStore, storeLabel, type Db } from './store/db.js';
export { closeCodes } from './ws/gateway.js';

export { migrateSqlite, openSqlite, type Sqlite } from './sqlite.js';
export { writePrivateFile, writePrivateJson } from './private-file.js';
export { lockDataDir, LOCK_FILE, type DataDirLock } from './lock.js';

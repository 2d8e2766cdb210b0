import type { DaemonModule } from '../kernel/module.js';
import { backupModule } from './backup/index.js';
import { cardModule, type CardModuleOptions } from './card/index.js';
import { ledgerModule } from './ledger/index.js';
import { memoryModule } from './memory/index.js';
import { recordsModule } from './records/index.js';
import { systemModule, type SystemModuleOptions } from './system/index.js';

export type DefaultModulesOptions = SystemModuleOptions & CardModuleOptions;

/**
 * The daemon's capabilities, in start order. Adding one is a folder under
 * `modules/` and a line here (see docs/extending.md).
 */
export function defaultModules(opts: DefaultModulesOptions): DaemonModule[] {
  const memory = memoryModule();
  return [
    systemModule(opts),
    ledgerModule(),
    memory,
    recordsModule(),
    backupModule({ afterRestore: () => memory.memory().reindex() }),
    cardModule(opts),
  ];
}

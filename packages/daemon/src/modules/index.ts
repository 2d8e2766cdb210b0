import type { DaemonModule } from '../kernel/module.js';
import { DAEMON_VERSION } from '../version.js';
import { backupModule } from './backup/index.js';
import { cardModule, type CardModuleOptions } from './card/index.js';
import { ledgerModule } from './ledger/index.js';
import { memoryModule } from './memory/index.js';
import { recordsModule } from './records/index.js';
import { skillsModule } from './skills/index.js';
import { systemModule, type SystemModuleOptions } from './system/index.js';

export type DefaultModulesOptions = SystemModuleOptions & Omit<CardModuleOptions, 'version' | 'skills'>;

/**
 * The daemon's capabilities, in start order. Adding one is a folder under
 * `modules/` and a line here (see docs/extending.md).
 */
export function defaultModules(opts: DefaultModulesOptions): DaemonModule[] {
  const memory = memoryModule();
  const skills = skillsModule();
  return [
    systemModule(opts),
    ledgerModule(),
    memory,
    recordsModule(),
    backupModule({ afterRestore: () => memory.memory().reindex() }),
    skills,
    cardModule({ ...opts, version: DAEMON_VERSION, skills: () => skills.list() }),
  ];
}

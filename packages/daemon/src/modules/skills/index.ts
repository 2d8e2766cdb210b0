import type { Skill } from '@fabric/protocol';
import { contextSlot, type DaemonModule } from '../../kernel/index.js';
import { DEFAULT_SKILLS_DIR, loadSkills } from './load.js';

/** The skills module, with the list the card and the composition read. */
export interface SkillsModule extends DaemonModule {
  /**
   * The skills shipped with the daemon (`packages/daemon/skills/<name>/SKILL.md`),
   * read on first use and then kept. Throws `bad_request` naming the file for
   * a malformed skill or one whose `tools` names a tool this daemon does not
   * serve; throws before `start`.
   */
  list(): readonly Skill[];
}

/**
 * Skills: how-tos that tell an agent which of this device's tools to use for
 * a task, offered as MCP prompts (by the MCP server, which reads the same
 * files) and listed on the agent card.
 */
export function skillsModule(dir: string = DEFAULT_SKILLS_DIR): SkillsModule {
  const ctx = contextSlot('skills');
  let loaded: readonly Skill[] | null = null;
  return {
    name: 'skills',
    start: ctx.set,
    list() {
      const known = ctx
        .get()
        .toolList()
        .map((t) => t.name);
      loaded ??= loadSkills(dir, { knownTools: known });
      return loaded;
    },
  };
}

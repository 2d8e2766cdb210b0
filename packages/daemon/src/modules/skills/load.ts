import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FabricError, skillFrontmatterSchema, type Skill } from '@fabric/protocol';
import { parseFrontmatter } from './frontmatter.js';

/**
 * The skills shipped with the daemon, `packages/daemon/skills/<name>/SKILL.md`.
 * Resolved from the package root, so it is the same directory whether this
 * module runs from `dist/` or, under test, from `src/`.
 */
export const DEFAULT_SKILLS_DIR = fileURLToPath(new URL('../../../skills', import.meta.url));

export const SKILL_FILE = 'SKILL.md';

export interface LoadSkillsOptions {
  /** When given, a skill whose `tools` names anything else is refused (catches a renamed tool). */
  knownTools?: Iterable<string>;
}

/**
 * Every skill in `dir` (one subdirectory per skill holding a `SKILL.md`),
 * sorted by name. Strict: a malformed file, a frontmatter `name` that is not
 * its directory's, a subdirectory without `SKILL.md` or an unknown tool is a
 * `bad_request` naming the file; a missing `dir` is `not_found`. Entries
 * starting with `.` and plain files beside the skill directories are ignored.
 */
export function loadSkills(dir: string = DEFAULT_SKILLS_DIR, options: LoadSkillsOptions = {}): Skill[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new FabricError('not_found', `no skills directory at ${dir}`);
  }
  const known = options.knownTools ? new Set(options.knownTools) : null;
  const skills: Skill[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.') || !statSync(join(dir, name)).isDirectory()) continue;
    const file = join(dir, name, SKILL_FILE);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new FabricError('bad_request', `${file}: missing (every skill directory holds a ${SKILL_FILE})`);
    }
    const skill = parseSkill(text, file);
    if (skill.name !== name)
      throw new FabricError('bad_request', `${file}: name is "${skill.name}" but the directory is "${name}"`);
    const unknown = known ? skill.tools.filter((t) => !known.has(t)) : [];
    if (unknown.length > 0) throw new FabricError('bad_request', `${file}: unknown tools ${unknown.join(', ')}`);
    skills.push(skill);
  }
  return skills;
}

/** One `SKILL.md`'s text as a skill. `file` only names it in errors (`bad_request`). */
export function parseSkill(text: string, file: string): Skill {
  const fail = (why: string) => new FabricError('bad_request', `${file}: ${why}`);
  let parsed;
  try {
    parsed = parseFrontmatter(text);
  } catch (err) {
    throw fail((err as Error).message);
  }
  const front = skillFrontmatterSchema.safeParse(parsed.data);
  if (!front.success) {
    const issue = front.error.issues[0];
    throw fail(`${issue?.path.join('.') || 'frontmatter'}: ${issue?.message ?? 'invalid'}`);
  }
  if (new Set(front.data.tools).size !== front.data.tools.length) throw fail('a tool is listed twice');
  const body = parsed.body.trim();
  if (body === '') throw fail('no procedure after the frontmatter');
  return { ...front.data, body };
}

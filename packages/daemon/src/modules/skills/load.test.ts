import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FabricError, errorCodes, skillSchema } from '@fabric/protocol';
import { DEFAULT_SKILLS_DIR, loadSkills, parseSkill } from './load.js';

/** The daemon's MCP tools, as the skills may cite them. */
const TOOLS = [
  'health',
  'system_query',
  'ledger_events',
  'service_restart',
  'service_stop',
  'process_signal',
  'file_write',
  'file_delete',
  'memory_store',
  'memory_ingest',
  'memory_recall',
  'receipt_list',
  'incident_create',
  'incident_step',
  'incident_close',
  'incident_get',
  'incident_list',
  'backup_create',
  'backup_list',
  'backup_restore',
  'agent_card',
];
/** Tools that change the machine or the daemon's data in ways the owner approves first. */
const DESTRUCTIVE = [
  'service_restart',
  'service_stop',
  'process_signal',
  'file_write',
  'file_delete',
  'backup_restore',
];

/** Every lowercase word or `snake_case` name a body puts in backticks: tool names, values like `high`, the odd error code. */
function citedNames(body: string): Set<string> {
  return new Set([...body.matchAll(/`([a-z]+(?:_[a-z]+)*)`/g)].map((m) => m[1]!));
}

describe('the shipped skills', () => {
  const skills = loadSkills();

  it('all load, sorted by name, including the core procedures', () => {
    const names = skills.map((s) => s.name);
    expect(names).toEqual([...names].sort());
    for (const name of [
      'system-monitor',
      'self-healing',
      'security-hardening',
      'drift-detection',
      'morning-briefing',
      'incident-response',
    ]) {
      expect(names).toContain(name);
    }
    for (const skill of skills) expect(skillSchema.parse(skill)).toEqual(skill);
  });

  it('cite only real tool names, and list in their frontmatter exactly the tools their body uses', () => {
    for (const skill of skills) {
      const cited = citedNames(skill.body);
      // A snake_case name is a tool (or an error code): anything else is a typo or a tool that does not exist.
      const unknown = [...cited].filter(
        (n) => n.includes('_') && !TOOLS.includes(n) && !(errorCodes as readonly string[]).includes(n),
      );
      expect(unknown, skill.name).toEqual([]);
      expect(
        skill.tools.filter((t) => !TOOLS.includes(t)),
        skill.name,
      ).toEqual([]);
      expect([...skill.tools].sort(), skill.name).toEqual([...cited].filter((n) => TOOLS.includes(n)).sort());
    }
  });

  it('load with the daemon tool list as the known tools', () => {
    expect(loadSkills(DEFAULT_SKILLS_DIR, { knownTools: TOOLS })).toEqual(skills);
  });

  it('say that everything is ledgered, and that destructive tools wait for approval', () => {
    for (const skill of skills) {
      expect(skill.body, skill.name).toMatch(/recorded\s+in\s+the\s+(device\s+)?ledger/);
      if (skill.tools.some((t) => DESTRUCTIVE.includes(t)))
        expect(skill.body, skill.name).toMatch(/owner's\s+approval/);
    }
  });

  it('hold nothing that looks like a secret', () => {
    for (const skill of skills) {
      expect(skill.body, skill.name).not.toMatch(
        /BEGIN [A-Z ]*PRIVATE KEY|\b(password|token|secret|api[_-]?key)\s*[:=]\s*\S/i,
      );
      expect(skill.body, skill.name).not.toMatch(/[A-Za-z0-9+/_-]{32,}/);
    }
  });
});

describe('parseSkill', () => {
  const ok =
    '---\nname: demo\ndescription: "A demo: quoted"\ntools:\n  - health\n  - system_query\n---\n\n# Demo\n\nDo it.\n';

  it('reads key: value lines, a tools list and the body', () => {
    expect(parseSkill(ok, 'x/SKILL.md')).toEqual({
      name: 'demo',
      description: 'A demo: quoted',
      tools: ['health', 'system_query'],
      body: '# Demo\n\nDo it.',
    });
  });

  it('accepts CRLF line ends, comments and no tools', () => {
    const text = '---\r\n# a comment\r\nname: demo\r\ndescription: plain\r\n---\r\nBody\r\n';
    expect(parseSkill(text, 'x/SKILL.md')).toEqual({ name: 'demo', description: 'plain', tools: [], body: 'Body' });
  });

  const malformed: [string, string, string][] = [
    ['no opening ---', 'name: demo\n', 'line 1: expected ---'],
    ['no closing ---', '---\nname: demo\ndescription: d\n', 'no closing ---'],
    ['a line that is not key: value', '---\nname demo\ndescription: d\n---\nBody\n', 'line 2: expected'],
    [
      'an item without a list key',
      '---\nname: demo\n- health\ndescription: d\n---\nBody\n',
      'line 3: a "- item" line must follow',
    ],
    ['a key given twice', '---\nname: demo\nname: other\ndescription: d\n---\nBody\n', 'line 3: name is given twice'],
    ['an unknown key', '---\nname: demo\ndescription: d\nsecret: x\n---\nBody\n', 'Unrecognized key'],
    ['a missing description', '---\nname: demo\n---\nBody\n', 'description'],
    ['a bad name', '---\nname: Demo Skill\ndescription: d\n---\nBody\n', 'name: a skill name is lowercase'],
    ['a flow list', '---\nname: demo\ndescription: d\ntools: [health]\n---\nBody\n', 'tools'],
    [
      'a tool listed twice',
      '---\nname: demo\ndescription: d\ntools:\n- health\n- health\n---\nBody\n',
      'a tool is listed twice',
    ],
    ['no body', '---\nname: demo\ndescription: d\n---\n\n', 'no procedure'],
  ];
  for (const [what, text, message] of malformed) {
    it(`refuses ${what}, naming the file`, () => {
      let err: unknown;
      try {
        parseSkill(text, '/skills/demo/SKILL.md');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FabricError);
      expect((err as FabricError).code).toBe('bad_request');
      expect((err as FabricError).message).toMatch(/^\/skills\/demo\/SKILL\.md: /);
      expect((err as FabricError).message).toContain(message);
    });
  }
});

describe('loadSkills', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fabric-skills-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const put = (name: string, text: string) => {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'SKILL.md'), text);
  };
  const skill = (name: string, tools = '') => `---\nname: ${name}\ndescription: d\n${tools}---\nBody\n`;
  const loadError = (knownTools?: string[]) => {
    try {
      loadSkills(dir, { knownTools });
    } catch (err) {
      return (err as FabricError).message;
    }
    return 'loaded';
  };

  it('loads every skill directory, sorted, ignoring dot entries and plain files', () => {
    put('zeta', skill('zeta'));
    put('alpha', skill('alpha'));
    mkdirSync(join(dir, '.hidden'));
    writeFileSync(join(dir, 'README.md'), 'not a skill');
    expect(loadSkills(dir).map((s) => s.name)).toEqual(['alpha', 'zeta']);
  });

  it('names the file whose frontmatter is malformed', () => {
    put('good', skill('good'));
    put('bad', '---\nname: bad\n');
    expect(loadError()).toBe(`${join(dir, 'bad', 'SKILL.md')}: no closing --- after the frontmatter`);
  });

  it('refuses a name that is not its directory, a directory without SKILL.md, and unknown tools', () => {
    put('one', skill('other'));
    expect(loadError()).toContain('name is "other" but the directory is "one"');
    rmSync(join(dir, 'one'), { recursive: true });
    mkdirSync(join(dir, 'empty'));
    expect(loadError()).toContain(`${join(dir, 'empty', 'SKILL.md')}: missing`);
    rmSync(join(dir, 'empty'), { recursive: true });
    put('uses', skill('uses', 'tools:\n  - health\n  - rm_rf\n'));
    expect(loadError(['health'])).toContain('unknown tools rm_rf');
    expect(loadError()).toBe('loaded');
  });

  it('answers not_found for a missing directory', () => {
    expect(() => loadSkills(join(dir, 'nope'))).toThrow(expect.objectContaining({ code: 'not_found' }));
  });
});

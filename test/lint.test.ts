import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { boundaries } from '../eslint.config.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** ESLint with only the layering rules, so a snippet needs no type information. */
const layering = new ESLint({
  cwd: root,
  overrideConfigFile: true,
  overrideConfig: [{ files: ['**/*.ts', '**/*.tsx'], languageOptions: { parser: tseslint.parser } }, ...boundaries],
});

/** The messages of the layering rule for one import written in `file`. */
async function refusals(file: string, source: string): Promise<string[]> {
  const [result] = await layering.lintText(`import '${source}';\n`, { filePath: `${root}/${file}` });
  return result!.messages.map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
}

// [file, import, refused?]
const table: [string, string, boolean][] = [
  ['packages/protocol/src/envelope.ts', 'zod', false],
  ['packages/protocol/src/envelope.ts', './ids.js', false],
  ['packages/protocol/src/agent/index.ts', '../errors.js', false],
  ['packages/protocol/src/envelope.ts', 'node:crypto', true],
  ['packages/protocol/src/envelope.ts', '@fabric/vault', true],
  ['packages/protocol/src/envelope.ts', 'ws', true],
  ['packages/protocol/src/envelope.ts', '../../daemon/src/device.js', true],
  ['packages/node/src/sqlite.ts', '@fabric/protocol', false],
  ['packages/node/src/sqlite.ts', 'node:fs', false],
  ['packages/node/src/sqlite.ts', '@fabric/server', true],
  ['packages/node/src/sqlite.ts', '@fabric/daemon', true],
  ['packages/node/src/sqlite.ts', '../../server/src/store/db.js', true],
  ['packages/vault/src/entries.ts', '@fabric/protocol', false],
  ['packages/vault/src/entries.ts', '@noble/curves/ed25519.js', false],
  ['packages/vault/src/entries.ts', 'node:crypto', true],
  ['packages/vault/src/entries.ts', 'fs', true],
  ['packages/vault/src/entries.ts', 'fs/promises', true],
  ['packages/vault/src/entries.ts', '@fabric/node', true],
  ['packages/vault/src/entries.ts', '../../node/src/private-file.js', true],
  ['packages/web/src/main.tsx', 'preact', false],
  ['packages/web/src/main.tsx', '@fabric/vault', false],
  ['packages/web/src/main.tsx', 'node:path', true],
  ['packages/web/src/main.tsx', 'buffer', true],
  ['packages/web/src/main.tsx', '@fabric/server', true],
  ['packages/web/src/screens/Board.tsx', '../../../server/src/board/store.js', true],
  ['packages/server/src/server.ts', '@fabric/node', false],
  ['packages/server/src/server.ts', '@fabric/vault', false],
  ['packages/server/src/server.ts', '@fabric/daemon', true],
  ['packages/server/src/server.ts', '@fabric/daemon/dist/device.js', true],
  ['packages/server/src/http/routes.ts', '../../../daemon/src/device.js', true],
  ['packages/server/src/server.ts', '@fabric/cli', true],
  ['packages/daemon/src/device.ts', '@fabric/vault', false],
  ['packages/daemon/src/device.ts', '@fabric/server', true],
  ['packages/daemon/src/sessions/harness/claude/adapter.ts', '../../../server/src/server.js', true],
  ['packages/daemon/src/device.ts', '@fabric/cli', true],
  ['packages/daemon/src/modules/memory/index.ts', '../../kernel/module.js', false],
  ['packages/daemon/src/modules/memory/index.ts', './tools.js', false],
  ['packages/daemon/src/modules/memory/index.ts', '@fabric/protocol', false],
  ['packages/daemon/src/modules/memory/index.ts', '../backup/index.js', true],
  ['packages/daemon/src/modules/memory/index.ts', '../../modules/backup/index.js', true],
  ['packages/daemon/src/modules/memory/index.ts', '../../kernel/index.js', false],
  ['packages/daemon/src/modules/memory/index.ts', '../../sessions/runner.js', true],
  ['packages/daemon/src/modules/memory/index.ts', '../../agent/socket.js', true],
  ['packages/daemon/src/modules/memory/index.ts', '../../audit/ledger/store.js', true],
  ['packages/daemon/src/modules/memory/memory.ts', '../memory/files.js', true],
  ['packages/daemon/src/modules/memory/memory.ts', 'better-sqlite3', false],
  ['packages/daemon/src/modules/memory/index.ts', '@fabric/node', true],
  ['packages/daemon/src/modules/memory/index.ts', '@fabric/server', true],
  ['packages/daemon/src/modules/memory/index.ts', '../../../../server/src/server.js', true],
  // Tests may reach across: they start a server and a device together.
  ['packages/vault/src/entries.test.ts', 'node:crypto', false],
  ['packages/cli/src/main.ts', '@fabric/server', false],
  ['packages/cli/src/main.ts', '@fabric/daemon', false],
];

describe('the layering is a lint check', () => {
  it.each(table)('%s importing %s: refused %s', async (file, source, refused) => {
    const messages = await refusals(file, source);
    if (refused) {
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatch(/^no-restricted-imports: /);
    } else {
      expect(messages).toEqual([]);
    }
  });

  it('is part of the configuration `npm run lint` uses, for every package it names', async () => {
    const eslint = new ESLint({ cwd: root });
    for (const b of boundaries) {
      const file = b.files[0]!.replace('**', 'index.ts');
      const config = (await eslint.calculateConfigForFile(`${root}/${file}`)) as { rules: Record<string, unknown> };
      const [, options] = b.rules['no-restricted-imports'];
      expect(config.rules['no-restricted-imports'], file).toEqual([2, options]);
    }
  });
});

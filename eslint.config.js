// Lint rules, and the layering as a check: protocol ← node, vault ← server, daemon, web ← cli.
// `npm run lint` runs this and Prettier; CI fails on any error.
import { builtinModules } from 'node:module';
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const builtins = builtinModules.filter((m) => !m.startsWith('_')).join('|');
/** A Node built-in, with or without the `node:` prefix. */
const nodeBuiltin = `^(node:.*|(${builtins})(/.*)?)$`;
/** Any workspace package but the ones named. */
const fabricExcept = (...allowed) => `^@fabric/(?!(${allowed.join('|')})(/|$))`;
/** A relative path into another package's sources. */
const into = (...packages) => `/(${packages.join('|')})/src/`;

/** One boundary: files matching `files` (tests aside) may import nothing that `regex` matches. */
function boundary(files, regex, message) {
  return {
    files,
    ignores: ['**/*.test.ts', '**/*.test.tsx'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex, message }] }] },
  };
}

/** The layering, one entry per package; `test/lint.test.ts` proves each one refuses what it names. */
export const boundaries = [
  boundary(
    ['packages/protocol/src/**'],
    `^(?!zod(/|$)|\\.\\.?/)|${into('node', 'vault', 'server', 'daemon', 'cli', 'web')}`,
    'protocol is the wire contract: it imports only zod.',
  ),
  boundary(
    ['packages/node/src/**'],
    `${fabricExcept('protocol')}|${into('vault', 'server', 'daemon', 'cli', 'web')}`,
    '@fabric/node holds Node helpers the packages share: it imports only @fabric/protocol.',
  ),
  boundary(
    ['packages/vault/src/**'],
    `${nodeBuiltin}|${fabricExcept('protocol')}|${into('node', 'server', 'daemon', 'cli', 'web')}`,
    'vault runs in the browser too: no Node built-ins, and only @fabric/protocol.',
  ),
  boundary(
    ['packages/web/src/**'],
    `${nodeBuiltin}|${fabricExcept('protocol', 'vault')}|${into('node', 'server', 'daemon', 'cli')}`,
    'the cockpit runs in the browser: no Node built-ins, and only @fabric/protocol and @fabric/vault.',
  ),
  boundary(
    ['packages/server/src/**'],
    `^@fabric/(daemon|cli|web)(/|$)|${into('daemon', 'cli', 'web')}`,
    'the control plane never imports the device daemon or the CLI: they meet only on the wire.',
  ),
  boundary(
    ['packages/daemon/src/**'],
    `^@fabric/(server|cli|web)(/|$)|${into('server', 'cli', 'web')}`,
    'the device daemon never imports the control plane or the CLI: they meet only on the wire.',
  ),
  // Listed after the daemon's own: for a module's files this one replaces it, so it repeats its refusals.
  boundary(
    ['packages/daemon/src/modules/*/**'],
    `^\\.\\./(?!\\.\\./kernel/)|(^|/)modules/|^@fabric/(node|daemon|server|cli|web)(/|$)|${into('server', 'cli', 'web')}`,
    'a daemon module imports its own folder, the kernel (kernel/index.ts) and libraries: never another module, the runner, the agent socket, a store opener or the control plane.',
  ),
];

export default defineConfig(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', '.bench/**', 'packages/web/public/**'] },

  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      'prefer-const': 'error',
      'no-self-compare': 'error',
      '@typescript-eslint/no-unnecessary-condition': [
        'error',
        { allowConstantLoopConditions: 'only-allowed-literals' },
      ],
      // Numbers read well in messages; everything else must be made a string on purpose.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // With noUncheckedIndexedAccess on, `xs[i]!` after a bounds check or a regex match is the idiom;
      // the compiler already makes every unchecked index visible.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `.catch(() => {})` on a best-effort cleanup says what it means.
      '@typescript-eslint/no-empty-function': ['error', { allow: ['arrowFunctions'] }],
      // Number(row.x) and String(out) are boundaries: SQL drivers and system libraries decide the runtime type
      // (PostgreSQL returns bigint as a string), whatever the declared one says.
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      // `async` without `await` keeps one failure channel: whatever such a function throws becomes a rejection.
      '@typescript-eslint/require-await': 'off',
      // An empty string is as absent as a missing one in labels and messages: `label || 'default'` says so.
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true } }],
      // A leading underscore marks a parameter or binding that is there on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },

  // Tests and scripts sit outside the packages' tsconfig projects: the same rules without type information.
  {
    files: [
      '**/*.test.ts',
      '**/*.test.tsx',
      'packages/*/test/**',
      'test/**',
      'scripts/**',
      '*.js',
      '*.ts',
      '**/vite.config.ts',
    ],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['**/*.test.ts', '**/*.test.tsx', 'packages/*/test/**', 'test/**'],
    rules: {
      // Test doubles: stub loggers, environment restores and loosely typed fixtures.
      '@typescript-eslint/no-empty-function': 'off',
      '@typescript-eslint/no-dynamic-delete': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  // Recorder scripts kept with the recorded harness output they produced.
  {
    files: ['packages/protocol/fixtures/**', 'packages/cli/bin/**'],
    extends: [tseslint.configs.disableTypeChecked],
    rules: { '@typescript-eslint/no-dynamic-delete': 'off' },
  },

  ...boundaries,
);

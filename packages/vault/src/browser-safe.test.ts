import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The vault runs unchanged in browsers. The compiler keeps Node types out of
// the source (tsconfig "types": []); these tests check what actually ships:
// the built dist, and every module it pulls in from its dependencies.

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(pkgDir, 'dist');
const builtins = new Set(builtinModules);

const stripComments = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

/** Static and dynamic import specifiers of an ES module's source (comments stripped). */
function importsOf(source: string): string[] {
  const code = stripComments(source);
  const found = new Set<string>();
  for (const m of code.matchAll(/(?:^|[;\s])(?:import|export)\s*(?:[\w*${}\s,]+from\s*)?["']([^"']+)["']/g))
    found.add(m[1]!);
  for (const m of code.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g)) found.add(m[1]!);
  for (const m of code.matchAll(/\brequire\s*\(\s*["']([^"']+)["']\s*\)/g)) found.add(m[1]!);
  return [...found];
}

const isNode = (spec: string) => spec.startsWith('node:') || builtins.has(spec.split('/')[0]!);

describe('browser safety', () => {
  it('compiles against the bare ES library, with no Node or DOM types', () => {
    const tsconfig = JSON.parse(readFileSync(join(pkgDir, 'tsconfig.json'), 'utf8')) as {
      compilerOptions: { types: string[]; lib: string[] };
    };
    expect(tsconfig.compilerOptions.types).toEqual([]);
    expect(tsconfig.compilerOptions.lib).toEqual(['ES2023']);
  });

  it('ships a dist that imports no Node module and touches no Node global', () => {
    expect(existsSync(join(dist, 'index.js'))).toBe(true);
    const files = readdirSync(dist).filter((f) => f.endsWith('.js'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const source = readFileSync(join(dist, f), 'utf8');
      expect(importsOf(source).filter(isNode), f).toEqual([]);
      expect(stripComments(source), f).not.toMatch(/\b(Buffer|process|__dirname|require)\b/);
    }
  });

  it('pulls in no Node module anywhere in its dependency graph', () => {
    const seen = new Set<string>();
    const offenders: string[] = [];
    const queue = [join(dist, 'index.js')];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const req = createRequire(file);
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        if (isNode(spec)) offenders.push(`${file} imports ${spec}`);
        else queue.push(spec.startsWith('.') ? resolve(dirname(file), spec) : req.resolve(spec));
      }
    }
    expect(offenders).toEqual([]);
    expect(seen.size).toBeGreaterThan(30);
    // The walk really reached the libraries doing the crypto.
    const reached = [...seen].join('\n');
    for (const lib of [
      'age-encryption',
      '@noble/curves',
      '@noble/hashes',
      '@noble/post-quantum',
      '@scure/bip39',
      '@scure/base',
    ])
      expect(reached).toContain(`/${lib}/`);
  });

  it('finds Node imports when they are there (the check itself works)', () => {
    expect(importsOf('import { readFileSync } from "node:fs";\nexport * from "./x.js";').filter(isNode)).toEqual([
      'node:fs',
    ]);
    expect(importsOf("const m = await import('crypto');").filter(isNode)).toEqual(['crypto']);
    expect(importsOf("import 'path';").filter(isNode)).toEqual(['path']);
  });
});

// Benchmark dispatcher: `node bench/dist/run.js <name> [args...]` runs bench/<name>.ts,
// compiled to bench/dist/<name>.js by `tsc -p bench`.
// Each benchmark module exports `main(args)` and prints one JSON line per
// figure on stdout; progress and diagnostics go to stderr.
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a benchmark module exports. */
interface Benchmark {
  main?: unknown;
}

// The compiled benchmarks sit next to this file; lib/ holds their shared code.
const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here, { withFileTypes: true })
  .filter((f) => f.isFile() && f.name.endsWith('.js') && f.name !== 'run.js')
  .map((f) => f.name.slice(0, -3))
  .sort();

function usage(): string {
  return [
    'usage: npm run bench -- <name> [options]   (or: node bench/dist/run.js <name> [options])',
    '',
    'available benchmarks:',
    ...available.map((n) => `  ${n}`),
    '',
    'Each benchmark prints one JSON line per figure on stdout; progress goes to stderr.',
  ].join('\n');
}

const name = process.argv[2];
if (name === '-h' || name === '--help' || name === 'help') {
  process.stderr.write(usage() + '\n');
  process.exit(0);
}
if (!name || !available.includes(name)) {
  if (name) process.stderr.write(`unknown benchmark "${name}"\n\n`);
  process.stderr.write(usage() + '\n');
  process.exit(2);
}

const mod = (await import(`./${name}.js`)) as Benchmark;
if (typeof mod.main !== 'function') {
  process.stderr.write(`bench/${name}.ts does not export main(args)\n`);
  process.exit(2);
}
await (mod.main as (args: string[]) => unknown)(process.argv.slice(3));

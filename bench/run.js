// Benchmark dispatcher: `node bench/run.js <name> [args...]` runs bench/<name>.js.
// Each benchmark module exports `main(args)` and prints one JSON line per
// figure on stdout; progress and diagnostics go to stderr.
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'run.js')
  .map((f) => f.slice(0, -3))
  .sort();

function usage() {
  return [
    'usage: npm run bench -- <name> [options]   (or: node bench/run.js <name> [options])',
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

const mod = await import(`./${name}.js`);
if (typeof mod.main !== 'function') {
  process.stderr.write(`bench/${name}.js does not export main(args)\n`);
  process.exit(2);
}
await mod.main(process.argv.slice(3));

#!/usr/bin/env node
// A stand-in for an agent CLI, placed first on PATH by tests. It follows the
// scenario in $FAKE_CLI_SCENARIO (JSON) and records how it was called.
//
// Scenario: { version?: string, record?: file, steps: Step[] }, where a Step is
//   { print: string }                 one stdout line
//   { stderr: string }                one stderr line
//   { replay: file, from?, to? }      stdout lines [from, to) of a recorded fixture
//   { read: n }                       wait for n stdin lines (recorded)
//   { readUntilEof: true }            wait for stdin to close
//   { sleep: ms }
//   { exit: code }                    (default: exit 0 after the last step)
//   { when: argvIncludes, steps }     run nested steps only if argv contains that string
// Every call appends {argv, env (FAKE_*/API-ish names only), stdin: [...lines]} to `record`.
import { appendFileSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';

// One directory of fakes can stand in for several CLIs: FAKE_CLI_SCENARIO_<NAME>
// (the name it was invoked as, upper-case) wins over FAKE_CLI_SCENARIO.
const invokedAs = basename(process.argv[1]).toUpperCase().replace(/[^A-Z0-9]/g, '_');
const scenario = JSON.parse(readFileSync(process.env[`FAKE_CLI_SCENARIO_${invokedAs}`] ?? process.env.FAKE_CLI_SCENARIO, 'utf8'));
const argv = process.argv.slice(2);
const stdinLines = [];
const waiters = [];
let stdinClosed = false;
const rl = createInterface({ input: process.stdin });
rl.on('line', (l) => { stdinLines.push(l); flush(); });
rl.on('close', () => { stdinClosed = true; flush(); });
function flush() { for (const w of waiters.splice(0)) w(); }
const waitFor = (cond) => new Promise((resolve) => {
  const check = () => (cond() ? resolve() : waiters.push(check));
  check();
});

function record(exitCode) {
  if (!scenario.record) return;
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (/^(FAKE_|ANTHROPIC|OPENAI|MOONSHOT|KIMI|OPENCODE|OPENCLAW|FABRIC)/.test(k)) env[k] = v;
  appendFileSync(scenario.record, JSON.stringify({ argv, env, stdin: stdinLines, exitCode, cwd: process.cwd() }) + '\n');
}

const out = (line) => new Promise((resolve) => process.stdout.write(line + '\n', resolve));

async function run(steps) {
  for (const step of steps) {
    if ('print' in step) await out(step.print);
    else if ('stderr' in step) process.stderr.write(step.stderr + '\n');
    else if ('replay' in step) {
      const lines = readFileSync(step.replay, 'utf8').split('\n').filter((l) => l.length > 0);
      for (const l of lines.slice(step.from ?? 0, step.to ?? lines.length)) await out(l);
    } else if ('read' in step) {
      const target = stdinLines.length + step.read;
      await waitFor(() => stdinLines.length >= target || stdinClosed);
    } else if ('readUntilEof' in step) await waitFor(() => stdinClosed);
    else if ('sleep' in step) await new Promise((r) => setTimeout(r, step.sleep));
    else if ('when' in step) { if (argv.includes(step.when)) { const code = await run(step.steps); if (code !== undefined) return code; } }
    else if ('exit' in step) return step.exit;
  }
  return undefined;
}

if (argv.includes('--version') || argv.includes('-V')) {
  await out(scenario.version ?? '0.0.0-fake');
  process.exit(0);
}
const code = (await run(scenario.steps ?? [])) ?? 0;
record(code);
rl.close();
process.exit(code);

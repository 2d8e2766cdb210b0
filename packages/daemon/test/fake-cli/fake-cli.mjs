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
//   { sleep: ms }                     (only to stay busy until cancelled; never to order events)
//   { gate: name }                    wait until the test opens the gate: a file of that name next to the scenario file
//   { exit: code }                    (default: exit 0 after the last step)
//   { when: argvIncludes, steps }     run nested steps only if argv contains that string
//   { mcp: {server, tool, arguments} } start the MCP server the CLI was configured with (Claude's
//                                     --mcp-config JSON or Codex's -c mcp_servers.<name>.* overrides),
//                                     the way that CLI would, and call one of its tools (the SDK's client)
// Every call appends {argv, env (FAKE_*/API-ish names only), stdin: [...lines], mcp: [results]} to `record`.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

// One directory of fakes can stand in for several CLIs: FAKE_CLI_SCENARIO_<NAME>
// (the name it was invoked as, upper-case) wins over FAKE_CLI_SCENARIO.
const invokedAs = basename(process.argv[1])
  .toUpperCase()
  .replace(/[^A-Z0-9]/g, '_');
const scenarioFile = process.env[`FAKE_CLI_SCENARIO_${invokedAs}`] ?? process.env.FAKE_CLI_SCENARIO;
const scenario = JSON.parse(readFileSync(scenarioFile, 'utf8'));
const argv = process.argv.slice(2);
const stdinLines = [];
const waiters = [];
let stdinClosed = false;
const rl = createInterface({ input: process.stdin });
rl.on('line', (l) => {
  stdinLines.push(l);
  flush();
});
rl.on('close', () => {
  stdinClosed = true;
  flush();
});
function flush() {
  for (const w of waiters.splice(0)) w();
}
const waitFor = (cond) =>
  new Promise((resolve) => {
    const check = () => (cond() ? resolve() : waiters.push(check));
    check();
  });

const mcpResults = [];

function record(exitCode) {
  if (!scenario.record) return;
  const env = {};
  for (const [k, v] of Object.entries(process.env))
    if (/^(FAKE_|ANTHROPIC|OPENAI|MOONSHOT|KIMI|OPENCODE|OPENCLAW|FABRIC)/.test(k)) env[k] = v;
  appendFileSync(
    scenario.record,
    JSON.stringify({ argv, env, stdin: stdinLines, exitCode, cwd: process.cwd(), mcp: mcpResults }) + '\n',
  );
}

/** The stdio MCP server `name` as this CLI was told to start it: {command, args, env}. */
function mcpServerFromArgv(name) {
  const at = argv.indexOf('--mcp-config');
  if (at >= 0) {
    // Claude Code: a JSON config; env values may be ${VAR} references to the CLI's own environment.
    const server = JSON.parse(argv[at + 1]).mcpServers[name];
    const env = {};
    for (const [k, v] of Object.entries(server.env ?? {}))
      env[k] = String(v).replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, n) => process.env[n] ?? '');
    return { command: server.command, args: server.args ?? [], env };
  }
  // Codex: `-c mcp_servers.<name>.<key>=<TOML value>`; env_vars names variables passed on from the CLI's environment.
  const values = {};
  for (let i = 0; i < argv.length - 1; i++) {
    if (argv[i] !== '-c') continue;
    const m = argv[i + 1].match(new RegExp(`^mcp_servers\\.${name}\\.([a-z_]+)=(.*)$`, 's'));
    if (m) values[m[1]] = JSON.parse(m[2]);
  }
  if (!values.command) throw new Error(`no MCP server ${name} in argv`);
  const env = Object.fromEntries((values.env_vars ?? []).map((n) => [n, process.env[n] ?? '']));
  return { command: values.command, args: values.args ?? [], env };
}

async function callMcp({ server: name = 'fabric', tool, arguments: args = {} }) {
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
  const server = mcpServerFromArgv(name);
  const client = new Client({ name: `fake-${invokedAs.toLowerCase()}`, version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: server.command,
      args: server.args,
      env: { PATH: process.env.PATH ?? '', ...server.env },
    }),
  );
  try {
    const result = await client.callTool({ name: tool, arguments: args });
    mcpResults.push({ tool, isError: result.isError === true, text: result.content?.[0]?.text ?? null });
  } finally {
    await client.close();
  }
}

/** Resolves when `file` exists: the test's signal to go on, however long the machine takes to get there. */
const opened = (file) =>
  new Promise((resolve) => {
    const check = () => (existsSync(file) ? resolve() : setTimeout(check, 20));
    check();
  });

const out = (line) => new Promise((resolve) => process.stdout.write(line + '\n', resolve));

async function run(steps) {
  for (const step of steps) {
    if ('print' in step) await out(step.print);
    else if ('stderr' in step) process.stderr.write(step.stderr + '\n');
    else if ('replay' in step) {
      const lines = readFileSync(step.replay, 'utf8')
        .split('\n')
        .filter((l) => l.length > 0);
      for (const l of lines.slice(step.from ?? 0, step.to ?? lines.length)) await out(l);
    } else if ('read' in step) {
      const target = stdinLines.length + step.read;
      await waitFor(() => stdinLines.length >= target || stdinClosed);
    } else if ('readUntilEof' in step) await waitFor(() => stdinClosed);
    else if ('sleep' in step) await new Promise((r) => setTimeout(r, step.sleep));
    else if ('gate' in step) await opened(join(dirname(scenarioFile), step.gate));
    else if ('mcp' in step) await callMcp(step.mcp);
    else if ('when' in step) {
      if (argv.includes(step.when)) {
        const code = await run(step.steps);
        if (code !== undefined) return code;
      }
    } else if ('exit' in step) return step.exit;
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

import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { FabricError } from '@fabric/protocol';
import { agentCall, agentSocketPath, loadSkills, readOwnerToken, TOOLS_PATH, type AgentEndpoint } from '@fabric/daemon';
import { dataDir, type GlobalOptions } from '../context.js';
import { renderPlain } from '../format.js';
import type { Out } from './shared.js';

/** The running daemon's agent socket, as its owner: the token it wrote into the data directory. */
function ownerEndpoint(dir: string): AgentEndpoint {
  const token = readOwnerToken(dir);
  if (!token) {
    throw new FabricError(
      'server_unreachable',
      `no device daemon runs with data dir ${dir} (no agent.token): start one with "optimal up" or "optimal device"`,
    );
  }
  return { socket: agentSocketPath(dir), token };
}

interface Json {
  json?: boolean;
}

/** The command that calls each tool, for hints the daemon words for sessions (which call tools by name). */
const TOOL_COMMANDS: Record<string, string> = {
  health: 'agent health',
  system_query: 'agent query',
  service_restart: 'agent service restart',
  service_stop: 'agent service stop',
  service_start: 'agent service start',
  process_signal: 'agent signal',
  file_write: 'agent file write',
  file_delete: 'agent file rm',
  ledger_events: 'agent ledger',
  memory_store: 'agent memory store',
  memory_ingest: 'agent memory ingest',
  memory_recall: 'agent memory recall',
  memory_reindex: 'agent memory reindex',
  memory_health: 'agent memory health',
  receipt_list: 'agent receipts',
  incident_create: 'agent incident create',
  incident_step: 'agent incident step',
  incident_close: 'agent incident close',
  incident_get: 'agent incident show',
  incident_list: 'agent incident ls',
  backup_create: 'agent backup create',
  backup_list: 'agent backup ls',
  backup_restore: 'agent backup restore',
  agent_card: 'agent card',
};

/**
 * A daemon message whose hint names a tool ("list them with incident_list")
 * with the command a person types instead ("list them with \"optimal agent
 * incident ls\""). Only hints are rewritten: a message that merely starts
 * with the tool's name (`system_query: sort applies to processes only`) keeps it.
 */
export function commandHint(message: string): string {
  return message.replace(/\bwith ([a-z]+(?:_[a-z]+)+)\b/g, (whole, name: string) =>
    Object.hasOwn(TOOL_COMMANDS, name) ? `with "optimal ${TOOL_COMMANDS[name]!}"` : whole,
  );
}

/** Call one tool as the owner and print its answer: JSON with --json, else a readable outline. */
async function run(
  globals: () => GlobalOptions,
  out: Out,
  tool: string,
  input: Record<string, unknown>,
  o: Json,
): Promise<void> {
  let answer: unknown;
  try {
    answer = await agentCall(ownerEndpoint(dataDir(globals())), `${TOOLS_PATH}/${tool}`, {
      input: dropUndefined(input),
    });
  } catch (err) {
    if (err instanceof FabricError) throw new FabricError(err.code, commandHint(err.message));
    throw err;
  }
  if (o.json) out.stdout(JSON.stringify(answer) + '\n');
  else out.stdout(renderPlain(answer) + '\n');
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function int(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new FabricError('bad_request', `${name} must be an integer, got "${value}"`);
    return n;
  };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * Text from a file argument, or standard input for "-". A missing file or
 * a directory is a one-line `not_found` / `bad_request`, never a stack trace.
 */
function readText(path: string, what: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FabricError('not_found', `${what}: no file ${path}`);
    if (code === 'EISDIR') throw new FabricError('bad_request', `${what}: ${path} is a directory, not a file`);
    if (code === 'EACCES') throw new FabricError('forbidden', `${what}: cannot read ${path} (permission denied)`);
    throw err;
  }
}

const jsonOption = () => new Option('--json', 'print JSON');

export function agentCommand(globals: () => GlobalOptions, out: Out): Command {
  const cmd = new Command('agent')
    .configureHelp({ showGlobalOptions: true })
    .description(
      "the device's agent tools, as its owner (the same tools sessions get through MCP): health, queries, ledger, mutations, memory, incidents, backups",
    )
    .addHelpText(
      'after',
      '\nTalks to the device daemon running with this data dir (its agent socket and agent.token).\nDestructive tools asked by a session wait for your approval; yours run at once and are recorded in the ledger.',
    );

  cmd
    .command('tools')
    .description('list the tools')
    .addOption(jsonOption())
    .action(async (o: Json) => {
      const answer = (await agentCall(ownerEndpoint(dataDir(globals())), TOOLS_PATH, {})) as {
        tools: { name: string; effect: string; description: string }[];
      };
      if (o.json) out.stdout(JSON.stringify(answer) + '\n');
      else
        out.stdout(
          answer.tools.map((t) => `${t.name.padEnd(16)} ${t.effect.padEnd(7)} ${t.description}`).join('\n') + '\n',
        );
    });

  cmd
    .command('call <tool> [input]')
    .description('call any tool with a JSON input ("-" reads it from stdin)')
    .addOption(jsonOption())
    .action(async (tool: string, input: string | undefined, o: Json) => {
      let parsed: unknown = {};
      if (input !== undefined) {
        try {
          parsed = JSON.parse(input === '-' ? readText('-', 'input') : input);
        } catch {
          throw new FabricError('malformed_json', 'the input is not JSON');
        }
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new FabricError('bad_request', 'the input must be a JSON object');
      await run(globals, out, tool, parsed as Record<string, unknown>, o);
    });

  cmd
    .command('health')
    .description('cpu, ram, disks, load, uptime')
    .addOption(jsonOption())
    .action((o: Json) => run(globals, out, 'health', {}, o));

  cmd
    .command('query <what>')
    .description('processes | services | network | ports | disks | users')
    .option('--sort <key>', 'processes: cpu, memory or pid')
    .option('--limit <n>', 'processes: how many (1-500)', int('--limit'))
    .option('--name <text>', 'processes: only names containing this')
    .option('--state <state>', 'services: running, failed or all')
    .addOption(jsonOption())
    .action((what: string, o: Json & { sort?: string; limit?: number; name?: string; state?: string }) =>
      run(globals, out, 'system_query', { query: what, sort: o.sort, limit: o.limit, name: o.name, state: o.state }, o),
    );

  cmd
    .command('service <action> <name>')
    .description('restart | stop | start a systemd service')
    .addOption(jsonOption())
    .action((action: string, name: string, o: Json) => {
      if (!['restart', 'stop', 'start'].includes(action))
        throw new FabricError('bad_request', `service actions are restart, stop and start, not "${action}"`);
      return run(globals, out, `service_${action}`, { service: name }, o);
    });

  cmd
    .command('signal <pid>')
    .description('send a signal to a process')
    .option('--signal <name>', 'TERM, KILL, HUP, INT, QUIT, USR1, USR2, STOP or CONT', 'TERM')
    .addOption(jsonOption())
    .action((pid: string, o: Json & { signal: string }) =>
      run(
        globals,
        out,
        'process_signal',
        { pid: int('pid')(pid), signal: o.signal.replace(/^SIG/i, '').toUpperCase() },
        o,
      ),
    );

  const file = cmd.command('file').description('write or delete a file (recorded in the ledger)');
  file
    .command('write <path> [source]')
    .description('write <source> (a file, or - for stdin; stdin when left out and piped) to <path>')
    .option('--mode <octal>', 'file mode for a new file, e.g. 0644')
    .addOption(jsonOption())
    .action((path: string, source: string | undefined, o: Json & { mode?: string }) => {
      // Left out, the source is stdin only when something is piped in: a terminal would silently write an empty file on ^D.
      if (source === undefined && process.stdin.isTTY) {
        throw new FabricError(
          'bad_request',
          'no content to write: name a source file, or pipe it in (echo hi | optimal agent file write PATH)',
        );
      }
      return run(
        globals,
        out,
        'file_write',
        { path, content: readText(source ?? '-', 'no content to write'), mode: o.mode },
        o,
      );
    });
  file
    .command('rm <path>')
    .description('delete a file')
    .addOption(jsonOption())
    .action((path: string, o: Json) => run(globals, out, 'file_delete', { path }, o));

  cmd
    .command('ledger')
    .description('the newest ledger events (verify the chain with "optimal ledger verify")')
    .option('--kind <kind>', 'only this kind, e.g. mutation.done')
    .option('--actor <actor>', 'only this actor, e.g. owner or session:<id>')
    .option('--limit <n>', 'how many (1-1000)', int('--limit'), 50)
    .addOption(jsonOption())
    .action((o: Json & { kind?: string; actor?: string; limit: number }) =>
      run(globals, out, 'ledger_events', { kind: o.kind, actor: o.actor, limit: o.limit }, o),
    );

  const memory = cmd
    .command('memory')
    .description("the device's memory: markdown files, searched by words and meaning");
  memory
    .command('store <summary>')
    .description('remember something')
    .option('--detail <text>', 'the longer text')
    .option('--category <name>', 'a category', 'note')
    .option('--tag <tag>', 'a tag (repeatable)', collect, [])
    .addOption(jsonOption())
    .action((summary: string, o: Json & { detail?: string; category: string; tag: string[] }) =>
      run(globals, out, 'memory_store', { summary, detail: o.detail ?? '', category: o.category, tags: o.tag }, o),
    );
  memory
    .command('ingest <file>')
    .description('index a document (a file, or - for stdin)')
    .option('--source <name>', 'where it came from')
    .option('--title <title>', 'a title')
    .option('--tag <tag>', 'a tag (repeatable)', collect, [])
    .addOption(jsonOption())
    .action((path: string, o: Json & { source?: string; title?: string; tag: string[] }) =>
      run(
        globals,
        out,
        'memory_ingest',
        {
          source: o.source ?? (path === '-' ? 'stdin' : path),
          title: o.title,
          text: readText(path, 'nothing to ingest'),
          tags: o.tag,
        },
        o,
      ),
    );
  memory
    .command('recall <query>')
    .description('find what is relevant, within a token budget')
    .option('--max <n>', 'at most this many chunks', int('--max'))
    .option('--timeframe <t>', '24h, 7d, 30d, or ISO..ISO')
    .option('--budget <tokens>', 'token budget for what is returned', int('--budget'))
    .addOption(jsonOption())
    .action((query: string, o: Json & { max?: number; timeframe?: string; budget?: number }) =>
      run(
        globals,
        out,
        'memory_recall',
        { query, max_results: o.max, timeframe: o.timeframe, token_budget: o.budget },
        o,
      ),
    );
  memory
    .command('reindex')
    .description('rebuild the search index from the markdown files')
    .addOption(jsonOption())
    .action((o: Json) => run(globals, out, 'memory_reindex', {}, o));
  memory
    .command('health')
    .description('index size and embedder')
    .addOption(jsonOption())
    .action((o: Json) => run(globals, out, 'memory_health', {}, o));

  cmd
    .command('receipts')
    .description('receipts of what was done')
    .option('--kind <kind>', 'only this kind')
    .option('--since <iso>', 'only after this time')
    .option('--limit <n>', 'how many', int('--limit'), 50)
    .addOption(jsonOption())
    .action((o: Json & { kind?: string; since?: string; limit: number }) =>
      run(globals, out, 'receipt_list', { kind: o.kind, since: o.since, limit: o.limit }, o),
    );

  const incident = cmd.command('incident').description('incident workspaces: auditable troubleshooting');
  incident
    .command('create <title>')
    .description('open an incident')
    .option('--severity <level>', 'low, medium, high or critical')
    .addOption(jsonOption())
    .action((title: string, o: Json & { severity?: string }) =>
      run(globals, out, 'incident_create', { title, severity: o.severity }, o),
    );
  incident
    .command('step <id> <action>')
    .description('record a step: what you did and what came of it')
    .option('--result <text>', 'what happened', '')
    .addOption(jsonOption())
    .action((id: string, action: string, o: Json & { result: string }) =>
      run(globals, out, 'incident_step', { id, action, result: o.result }, o),
    );
  incident
    .command('close <id>')
    .description('close an incident with its resolution')
    .requiredOption('--resolution <text>', 'how it ended')
    .addOption(jsonOption())
    .action((id: string, o: Json & { resolution: string }) =>
      run(globals, out, 'incident_close', { id, resolution: o.resolution }, o),
    );
  incident
    .command('show <id>')
    .description('an incident and its steps')
    .addOption(jsonOption())
    .action((id: string, o: Json) => run(globals, out, 'incident_get', { id }, o));
  incident
    .command('ls')
    .description('list incidents')
    .option('--status <status>', 'open or closed')
    .addOption(jsonOption())
    .action((o: Json & { status?: string }) => run(globals, out, 'incident_list', { status: o.status }, o));

  const backup = cmd.command('backup').description('backups of the ledger, records and memory');
  backup
    .command('create')
    .description('back up the ledger, records and memory now')
    .addOption(jsonOption())
    .action((o: Json) => run(globals, out, 'backup_create', {}, o));
  backup
    .command('ls')
    .description('list backups')
    .addOption(jsonOption())
    .action((o: Json) => run(globals, out, 'backup_list', {}, o));
  backup
    .command('restore <id>')
    .description('restore records and memory from a backup (the ledger is never rolled back)')
    .addOption(jsonOption())
    .action((id: string, o: Json) => run(globals, out, 'backup_restore', { backupId: id }, o));

  cmd
    .command('card')
    .description("the device agent's identity card (EIP-8004 style)")
    .addOption(jsonOption())
    .action((o: Json) => run(globals, out, 'agent_card', {}, o));

  cmd
    .command('skills [name]')
    .description('the skills sessions get as MCP prompts; with a name, print that one')
    .addOption(jsonOption())
    .action((name: string | undefined, o: Json) => {
      const skills = loadSkills();
      if (name !== undefined) {
        const skill = skills.find((s) => s.name === name);
        if (!skill)
          throw new FabricError('not_found', `no skill named "${name}" (list them with: optimal agent skills)`);
        out.stdout(o.json ? JSON.stringify(skill) + '\n' : skill.body.trimEnd() + '\n');
        return;
      }
      if (o.json)
        out.stdout(JSON.stringify(skills.map(({ name: n, description }) => ({ name: n, description }))) + '\n');
      else out.stdout(skills.map((s) => `${s.name.padEnd(22)} ${s.description}`).join('\n') + '\n');
    });

  return cmd;
}

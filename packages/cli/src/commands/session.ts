import { Command, Option } from 'commander';
import { FabricError, harnessNames, isTerminal, type SessionView, type StreamEvent } from '@fabric/protocol';
import { Api } from '../api.js';
import type { GlobalOptions } from '../context.js';
import { sessionRows, table } from '../format.js';
import { readStdin } from '../prompt.js';
import { followSession } from '../sse.js';
import { collectLabel, type Out } from './shared.js';

/** Print one event the way a person reads a session: output to its stream, status lines to stderr. */
function printEvent(e: StreamEvent, out: Out, json: boolean): void {
  if (json) {
    out.stdout(JSON.stringify(e) + '\n');
    return;
  }
  if (e.kind === 'stdout' && e.data !== null) out.stdout(e.data);
  else if (e.kind === 'stderr' && e.data !== null) out.stderr(e.data);
  else if (e.kind === 'event' && e.data !== null) out.stderr(`[event] ${e.data}\n`);
  else if (e.kind === 'status' && e.meta?.status && e.meta.status !== 'starting' && e.meta.status !== 'running') {
    out.stderr(`[${e.meta.status}]${e.meta.errorCode ? ` ${e.meta.errorCode}:` : ''}${e.meta.message ? ` ${e.meta.message}` : ''}\n`);
  }
}

/** Exit code for a finished session: its own exit code, else 1 (refused, failed without one) or 130 (cancelled). */
export function exitCodeOf(s: SessionView): number {
  if (s.exitCode !== null) return s.exitCode;
  if (s.status === 'succeeded') return 0;
  if (s.status === 'cancelled') return 130;
  return 1;
}

async function follow(api: Api, id: string, out: Out, json: boolean, after = 0): Promise<number> {
  await followSession(api, id, {
    after,
    onEvent: (e) => printEvent(e, out, json),
  });
  const view = await api.get<SessionView>(`/api/sessions/${encodeURIComponent(id)}`);
  if (!json && (view.status === 'refused' || (view.status === 'failed' && view.exitCode === null)) && view.errorCode) {
    throw new FabricError(view.errorCode, view.errorMessage ?? `session ${view.status}`);
  }
  return exitCodeOf(view);
}

export function sessionCommand(globals: () => GlobalOptions, out: Out, setExit: (code: number) => void): Command {
  const cmd = new Command('session').description('start, watch and steer agent sessions');

  cmd.command('start')
    .description('start a session on the best device (or --device) and print its id')
    .addOption(new Option('--harness <name>', 'agent harness').choices([...harnessNames]).default('shell'))
    .requiredOption('--prompt <text>', 'the prompt; for the shell harness, the command line (run as argv, no shell)')
    .option('--device <id-or-name>', 'run on this device')
    .option('--label <k=v>', 'only devices with this label (repeatable)', collectLabel, {})
    .option('--cwd <dir>', 'working directory on the device')
    .option('-f, --follow', 'stream the output and exit with the session\'s exit code')
    .option('--json', 'print the session (or, with --follow, each event) as JSON lines')
    .action(async (o: { harness: string; prompt: string; device?: string; label: Record<string, string>; cwd?: string; follow?: boolean; json?: boolean }) => {
      const api = Api.forUser(globals());
      const body = {
        harness: o.harness,
        prompt: o.prompt,
        ...(o.device ? { deviceId: o.device } : {}),
        ...(Object.keys(o.label).length ? { labels: o.label } : {}),
        ...(o.cwd ? { cwd: o.cwd } : {}),
      };
      const view = await api.post<SessionView>('/api/sessions', body);
      if (!o.follow) {
        out.stdout(o.json ? JSON.stringify(view) + '\n' : `${view.id}\n`);
        return;
      }
      if (!o.json) out.stderr(`session ${view.id} on ${view.deviceName ?? view.deviceId ?? '?'}\n`);
      setExit(await follow(api, view.id, out, o.json ?? false));
    });

  cmd.command('ls')
    .description('list recent sessions')
    .option('--limit <n>', 'how many', '20')
    .option('--device <id>', 'only this device')
    .option('--status <status>', 'only this status')
    .option('--json', 'print JSON')
    .action(async (o: { limit: string; device?: string; status?: string; json?: boolean }) => {
      const api = Api.forUser(globals());
      const q = new URLSearchParams({ limit: o.limit });
      if (o.device) q.set('device', o.device);
      if (o.status) q.set('status', o.status);
      const { sessions } = await api.get<{ sessions: SessionView[] }>(`/api/sessions?${q}`);
      out.stdout(o.json ? JSON.stringify(sessions) + '\n' : sessions.length ? table(sessionRows(sessions)) + '\n' : 'no sessions yet\n');
    });

  cmd.command('show <id>')
    .description('show one session')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const view = await Api.forUser(globals()).get<SessionView>(`/api/sessions/${encodeURIComponent(id)}`);
      if (o.json) { out.stdout(JSON.stringify(view) + '\n'); return; }
      const lines = [
        ['id', view.id], ['status', view.status], ['harness', view.harness], ['device', `${view.deviceName ?? '-'} (${view.deviceId ?? '-'})`],
        ['prompt', view.prompt], ['exit', view.exitCode === null ? (view.signal ?? '-') : String(view.exitCode)],
        ['error', view.errorCode ? `${view.errorCode}: ${view.errorMessage ?? ''}` : '-'],
        ['created', new Date(view.createdAt).toISOString()], ['events', String(view.lastSeq)],
      ];
      out.stdout(table(lines) + '\n');
    });

  cmd.command('logs <id>')
    .description('print a session\'s output so far (or follow it live)')
    .option('-f, --follow', 'keep streaming until the session ends')
    .option('--after <seq>', 'only events after this sequence number', '0')
    .option('--json', 'print events as JSON lines')
    .action(async (id: string, o: { follow?: boolean; after: string; json?: boolean }) => {
      const api = Api.forUser(globals());
      const after = Number(o.after);
      if (!Number.isInteger(after) || after < 0) throw new FabricError('bad_request', '--after must be a non-negative integer');
      if (o.follow) {
        setExit(await follow(api, id, out, o.json ?? false, after));
        return;
      }
      let last = after;
      for (;;) {
        const page = await api.get<{ session: SessionView; events: StreamEvent[] }>(`/api/sessions/${encodeURIComponent(id)}/events?after=${last}&limit=1000`);
        for (const e of page.events) printEvent(e, out, o.json ?? false);
        if (page.events.length < 1000) break;
        last = page.events[page.events.length - 1]!.seq;
      }
    });

  cmd.command('send <id> [text]')
    .description('send follow-up input to a running session (a newline is added unless --raw)')
    .option('--stdin', 'read the input from standard input')
    .option('--raw', 'send the text exactly, without a trailing newline')
    .option('--eof', 'close the session\'s stdin after sending')
    .action(async (id: string, text: string | undefined, o: { stdin?: boolean; raw?: boolean; eof?: boolean }) => {
      let data = o.stdin ? await readStdin() : text ?? '';
      if (!o.stdin && text === undefined && !o.eof) throw new FabricError('bad_request', 'give the text to send, or --stdin, or --eof');
      if (!o.raw && !o.stdin && text !== undefined) data += '\n';
      await Api.forUser(globals()).post(`/api/sessions/${encodeURIComponent(id)}/input`, { data, eof: o.eof ?? false });
    });

  cmd.command('cancel <id>')
    .description('stop a session (SIGINT, then SIGTERM, then SIGKILL on the device)')
    .option('--reason <text>', 'recorded with the cancellation')
    .option('--json', 'print the session as JSON')
    .action(async (id: string, o: { reason?: string; json?: boolean }) => {
      const view = await Api.forUser(globals()).post<SessionView>(`/api/sessions/${encodeURIComponent(id)}/cancel`, o.reason ? { reason: o.reason } : {});
      out.stdout(o.json ? JSON.stringify(view) + '\n' : `${view.id} ${isTerminal(view.status) ? view.status : 'cancelling'}\n`);
    });

  return cmd;
}

import { Command, Option } from 'commander';
import {
  FabricError,
  harnessNames,
  isTerminal,
  type ApprovalView,
  type CreateSessionRequest,
  type HarnessName,
  type PermissionMode,
  type SessionView,
} from '@fabric/protocol';
import { printEvent } from '../render.js';
import { Api } from '../api.js';
import type { GlobalOptions } from '../context.js';
import { localTime, printable, sessionRows, table } from '../format.js';
import { readStdin } from '../prompt.js';
import { followSession } from '../sse.js';
import { collectLabel, type Out } from './shared.js';

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
    onEvent: (e) => printEvent(e, out, json, id),
  });
  const view = await api.getSession({ params: { id } });
  if (!json && (view.status === 'refused' || (view.status === 'failed' && view.exitCode === null)) && view.errorCode) {
    throw new FabricError(view.errorCode, view.errorMessage ?? `session ${view.status}`);
  }
  return exitCodeOf(view);
}

/** Commander's choices check `harness` and `permissionMode`. */
interface StartOptions {
  harness: HarnessName;
  prompt: string;
  device?: string;
  label: Record<string, string>;
  cwd?: string;
  permissionMode: PermissionMode;
  model?: string;
  credential: string[];
  follow?: boolean;
  json?: boolean;
}

interface ResumeOptions {
  prompt: string;
  permissionMode?: PermissionMode;
  follow?: boolean;
  json?: boolean;
}

function approvalRows(approvals: ApprovalView[]): string[][] {
  return [
    ['REQUEST', 'STATUS', 'TOOL', 'ASKED', 'SUMMARY'],
    ...approvals.map((a) => [
      a.requestId,
      a.status,
      a.tool,
      localTime(a.createdAt).slice(11),
      a.summary.replace(/\s+/g, ' ').slice(0, 60),
    ]),
  ];
}

export function sessionCommand(globals: () => GlobalOptions, out: Out, setExit: (code: number) => void): Command {
  const cmd = new Command('session')
    .configureHelp({ showGlobalOptions: true })
    .description('start, watch and steer agent sessions');

  cmd
    .command('start')
    .description('start a session on the best device (or --device) and print its id')
    .addOption(new Option('--harness <name>', 'agent harness').choices([...harnessNames]).default('shell'))
    .requiredOption('--prompt <text>', 'the prompt; for the shell harness, the command line (run as argv, no shell)')
    .option('--device <id-or-name>', 'run on this device')
    .option('--label <k=v>', 'only devices with this label (repeatable)', collectLabel, {})
    .option('--cwd <dir>', 'working directory on the device')
    .addOption(
      new Option(
        '--permission-mode <mode>',
        'ask: every tool permission goes to you; auto-edit: file edits pass, the rest asks; full: nothing asks',
      )
        .choices(['ask', 'auto-edit', 'full'])
        .default('ask'),
    )
    .option('--model <name>', 'model for the harness, in its own naming')
    .option(
      '--credential <name>',
      'a vault entry the session gets as the environment variable NAME (repeatable)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('-f, --follow', "stream the output and exit with the session's exit code")
    .option('--json', 'print the session (or, with --follow, each event) as JSON lines')
    .action(async (o: StartOptions) => {
      const body: CreateSessionRequest = {
        harness: o.harness,
        prompt: o.prompt,
        permissionMode: o.permissionMode,
        ...(o.device ? { deviceId: o.device } : {}),
        ...(Object.keys(o.label).length ? { labels: o.label } : {}),
        ...(o.cwd ? { cwd: o.cwd } : {}),
        ...(o.model ? { model: o.model } : {}),
        ...(o.credential.length ? { credentials: o.credential } : {}),
      };
      await launch(body, o);
    });

  cmd
    .command('resume <id>')
    .description("continue a finished session's conversation (same harness and device) with a new prompt")
    .requiredOption('--prompt <text>', 'what to say next')
    .addOption(
      new Option('--permission-mode <mode>', "default: the resumed session's").choices(['ask', 'auto-edit', 'full']),
    )
    .option('-f, --follow', "stream the output and exit with the session's exit code")
    .option('--json', 'print the session (or, with --follow, each event) as JSON lines')
    .action(async (id: string, o: ResumeOptions) => {
      const parent = await Api.forUser(globals()).getSession({ params: { id } });
      await launch(
        {
          harness: parent.harness,
          prompt: o.prompt,
          resumeFrom: id,
          ...(o.permissionMode ? { permissionMode: o.permissionMode } : {}),
        },
        o,
      );
    });

  async function launch(body: CreateSessionRequest, o: { follow?: boolean; json?: boolean }): Promise<void> {
    const api = Api.forUser(globals());
    const view = await api.createSession({ body });
    if (!o.follow) {
      out.stdout(o.json ? JSON.stringify(view) + '\n' : `${view.id}\n`);
      return;
    }
    if (!o.json) {
      out.stderr(
        view.status === 'queued'
          ? `session ${view.id} queued: ${view.placement ? printable(view.placement.text) : 'waiting for a device'}\n`
          : `session ${view.id} on ${printable(view.deviceName ?? view.deviceId ?? '?')}\n`,
      );
    }
    setExit(await follow(api, view.id, out, o.json ?? false));
  }

  cmd
    .command('ls')
    .description('list recent sessions')
    .option('--limit <n>', 'how many', '20')
    .option('--device <id>', 'only this device')
    .option('--status <status>', 'only this status')
    .option('--json', 'print JSON')
    .action(async (o: { limit: string; device?: string; status?: string; json?: boolean }) => {
      const { sessions } = await Api.forUser(globals()).listSessions({
        query: { limit: Number(o.limit), device: o.device, status: o.status },
      });
      out.stdout(
        o.json
          ? JSON.stringify(sessions) + '\n'
          : sessions.length
            ? table(sessionRows(sessions)) + '\n'
            : 'no sessions yet\n',
      );
    });

  cmd
    .command('show <id>')
    .description('show one session')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const view = await Api.forUser(globals()).getSession({ params: { id } });
      if (o.json) {
        out.stdout(JSON.stringify(view) + '\n');
        return;
      }
      const lines = [
        ['id', view.id],
        ['status', view.status],
        ['harness', view.harness],
        ['device', `${view.deviceName ?? '-'} (${view.deviceId ?? '-'})`],
        ['prompt', view.prompt],
        ['exit', view.exitCode === null ? (view.signal ?? '-') : String(view.exitCode)],
        ['error', view.errorCode ? `${view.errorCode}: ${view.errorMessage ?? ''}` : '-'],
        ['permission', view.permissionMode],
        ['model', view.model ?? '-'],
        ['placement', view.placement?.text ?? '-'],
        ['harness id', view.harnessSessionId ?? '-'],
        ['resumed from', view.parentId ?? '-'],
        ['created', localTime(view.createdAt)],
        ['events', String(view.lastSeq)],
      ];
      out.stdout(table(lines) + '\n');
      const { approvals } = await Api.forUser(globals()).listApprovals({ params: { id } });
      if (approvals.length > 0) out.stdout('\n' + table(approvalRows(approvals)) + '\n');
    });

  cmd
    .command('approvals <id>')
    .description("list a session's permission requests")
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const { approvals } = await Api.forUser(globals()).listApprovals({ params: { id } });
      out.stdout(
        o.json
          ? JSON.stringify(approvals) + '\n'
          : approvals.length
            ? table(approvalRows(approvals)) + '\n'
            : 'no permission requests\n',
      );
    });

  for (const decision of ['approve', 'deny'] as const) {
    cmd
      .command(`${decision} <id> <request>`)
      .description(
        decision === 'approve' ? 'allow a pending permission request' : 'refuse a pending permission request',
      )
      .option('--reason <text>', 'told to the harness')
      .option('--json', 'print JSON')
      .action(async (id: string, request: string, o: { reason?: string; json?: boolean }) => {
        const view = await Api.forUser(globals()).decideApproval({
          params: { id, req: request },
          body: { decision: decision === 'approve' ? 'allow' : 'deny', ...(o.reason ? { reason: o.reason } : {}) },
        });
        out.stdout(o.json ? JSON.stringify(view) + '\n' : `${view.requestId} ${view.status}\n`);
      });
  }

  cmd
    .command('logs <id>')
    .description("print a session's output so far (or follow it live)")
    .option('-f, --follow', 'keep streaming until the session ends')
    .option('--after <seq>', 'only events after this sequence number', '0')
    .option('--json', 'print events as JSON lines')
    .action(async (id: string, o: { follow?: boolean; after: string; json?: boolean }) => {
      const api = Api.forUser(globals());
      const after = Number(o.after);
      if (!Number.isInteger(after) || after < 0)
        throw new FabricError('bad_request', '--after must be a non-negative integer');
      if (o.follow) {
        setExit(await follow(api, id, out, o.json ?? false, after));
        return;
      }
      let last = after;
      for (;;) {
        const page = await api.sessionEvents({ params: { id }, query: { after: last, limit: 1000 } });
        for (const e of page.events) printEvent(e, out, o.json ?? false, id);
        if (page.events.length < 1000) break;
        last = page.events[page.events.length - 1]!.seq;
      }
    });

  cmd
    .command('send <id> [text]')
    .description('send follow-up input to a running session (a newline is added unless --raw)')
    .option('--stdin', 'read the input from standard input')
    .option('--raw', 'send the text exactly, without a trailing newline')
    .option('--eof', "close the session's stdin after sending")
    .action(async (id: string, text: string | undefined, o: { stdin?: boolean; raw?: boolean; eof?: boolean }) => {
      let data = o.stdin ? await readStdin() : (text ?? '');
      if (!o.stdin && text === undefined && !o.eof)
        throw new FabricError('bad_request', 'give the text to send, or --stdin, or --eof');
      if (!o.raw && !o.stdin && text !== undefined) data += '\n';
      const api = Api.forUser(globals());
      try {
        await api.sendInput({ params: { id }, body: { data, eof: o.eof ?? false } });
      } catch (err) {
        // Only a session whose harness reported a conversation id can be resumed: for the others, say what does work.
        if (!(err instanceof FabricError) || err.code !== 'session_finished') throw err;
        const view = await api.getSession({ params: { id } }).catch(() => null);
        if (!view || view.harnessSessionId) throw err;
        throw new FabricError(
          'session_finished',
          `session ${id} has already ended (${view.status}) and its ${view.harness} harness cannot resume it; start a new one with "optimal session start --harness ${view.harness}"`,
        );
      }
    });

  cmd
    .command('cancel <id>')
    .description('stop a session (SIGINT, then SIGTERM, then SIGKILL on the device)')
    .option('--reason <text>', 'recorded with the cancellation')
    .option('--json', 'print the session as JSON')
    .action(async (id: string, o: { reason?: string; json?: boolean }) => {
      const view = await Api.forUser(globals()).cancelSession({
        params: { id },
        body: o.reason ? { reason: o.reason } : {},
      });
      out.stdout(
        o.json ? JSON.stringify(view) + '\n' : `${view.id} ${isTerminal(view.status) ? view.status : 'cancelling'}\n`,
      );
    });

  return cmd;
}

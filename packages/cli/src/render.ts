import type { SessionEvent, StreamEvent } from '@fabric/protocol';
import type { Out } from './commands/shared.js';
import { printable, printableOutput, truncate } from './format.js';

/**
 * Print one stored event the way a person reads a session: the agent's
 * words and command output on stdout, everything about the session
 * (thinking, tool calls, files, approvals, status) as tagged lines on stderr.
 */
export function printEvent(e: StreamEvent, out: Out, json: boolean, sessionId: string): void {
  if (json) {
    out.stdout(JSON.stringify(e) + '\n');
    return;
  }
  switch (e.kind) {
    case 'stdout':
      out.stdout(printableOutput(e.data));
      return;
    case 'stderr':
      out.stderr(printableOutput(e.data));
      return;
    case 'event':
      printNormalised(e.data, out);
      return;
    case 'approval':
      if (e.meta?.decision) {
        out.stderr(
          `[approval] ${printable(e.meta.requestId ?? '')} ${e.meta.decision === 'allow' ? 'allowed' : 'denied'}${e.meta.message ? `: ${printable(e.meta.message)}` : ''}\n`,
        );
      } else if (e.meta?.requestId) {
        out.stderr(`[approval] ${printable(e.meta.requestId)} asks: ${printable(e.meta.message ?? '')}\n`);
        out.stderr(
          `           answer: optimal session approve ${sessionId} ${printable(e.meta.requestId)}   (or: deny)\n`,
        );
      }
      return;
    case 'status':
      if (e.meta?.status && e.meta.status !== 'starting' && e.meta.status !== 'running') {
        out.stderr(
          `[${e.meta.status}]${e.meta.errorCode ? ` ${e.meta.errorCode}:` : ''}${e.meta.message ? ` ${printable(e.meta.message)}` : ''}\n`,
        );
      }
      return;
    default:
      return; // usage, input, exit: shown by `optimal fuel`, echoed by the terminal, or the exit code
  }
}

function printNormalised(e: SessionEvent, out: Out): void {
  switch (e.kind) {
    case 'text':
      out.stdout(printableOutput(e.text.endsWith('\n') ? e.text : `${e.text}\n`));
      return;
    case 'reasoning':
      out.stderr(`[thinking] ${truncate(e.text, 200)}\n`);
      return;
    case 'tool_call':
      out.stderr(
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JSON.stringify returns undefined for undefined
        `[tool] ${printable(e.name)} ${truncate(typeof e.input === 'string' ? e.input : (JSON.stringify(e.input) ?? ''), 160)}\n`,
      );
      return;
    case 'tool_result':
      out.stderr(`[${e.isError ? 'tool error' : 'result'}] ${truncate(e.output, 200)}\n`);
      return;
    case 'file_change':
      out.stderr(`[file] ${e.change} ${printable(e.path)}\n`);
      return;
    case 'status': {
      // The shared status, then the harness's own word for it. A stored event from an older daemon
      // (a free-string status) was normalised by the schema: `turn_begin` reads `turn_started (turn_begin)`.
      const word = e.harnessStatus ? ` (${printable(e.harnessStatus)})` : '';
      out.stderr(`[status] ${e.status}${word}${e.detail ? `: ${printable(e.detail)}` : ''}\n`);
      return;
    }
    case 'error':
      out.stderr(`[error] ${printable(e.message)}\n`);
      return;
    case 'raw':
      out.stdout(`${printableOutput(e.line)}\n`);
      return;
    default:
      return; // usage (and, from older daemons, harness_session) travel as metadata too
  }
}

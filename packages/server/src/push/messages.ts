import type { SessionStatus } from '@fabric/protocol';

/**
 * What a push carries, as JSON, to the cockpit's service worker (public/sw.js
 * shows it): a title and one line, the cockpit path to open on a tap, and a
 * tag so a newer notice about the same session replaces the older one.
 */
export interface PushMessage {
  title: string;
  body: string;
  url: string;
  tag: string;
}

/** Session endings worth a notification. */
export const NOTIFY_ON: readonly SessionStatus[] = ['succeeded', 'failed', 'cancelled', 'refused'];

export interface EndedSession {
  id: string;
  harness: string;
  status: SessionStatus;
  exitCode: number | null;
  errorCode: string | null;
  deviceName: string | null;
}

export interface ApprovalAsk {
  sessionId: string;
  harness: string;
  deviceName: string | null;
  tool: string;
  summary: string;
}

/**
 * Built from metadata only (harness, device, status, exit code, the tool an
 * approval is for and its summary), never from session output, so the
 * relay path stays content-blind.
 */
export function sessionEndedMessage(s: EndedSession): PushMessage {
  const where = `${s.harness} on ${s.deviceName ?? 'no device'}`;
  const detail =
    s.status === 'failed' || s.status === 'refused'
      ? [s.errorCode, s.exitCode !== null ? `exit ${s.exitCode}` : null].filter(Boolean).join(', ') || 'see the session'
      : s.status === 'succeeded'
        ? s.exitCode !== null
          ? `exit ${s.exitCode}`
          : 'done'
        : 'stopped';
  return {
    title: `session ${s.status}`,
    body: `${where} · ${detail} · ${shortId(s.id)}`,
    url: `/sessions/${s.id}`,
    tag: `session-${s.id}`,
  };
}

export function approvalMessage(a: ApprovalAsk): PushMessage {
  return {
    title: `approval needed: ${clip(a.tool, 40)}`,
    body: `${a.harness} on ${a.deviceName ?? 'no device'} · ${clip(a.summary, 120)}`,
    url: `/sessions/${a.sessionId}`,
    tag: `session-${a.sessionId}`,
  };
}

function shortId(id: string): string {
  return id.length > 12 ? `${id.slice(0, 12)}…` : id;
}

function clip(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

import { describe, expect, it } from 'vitest';
import { FabricError } from '../errors.js';
import { bearerAuth, cookieAuth, createClient, type FetchInit } from './client.js';
import { routes } from './routes.js';

interface Sent {
  url: string;
  init: FetchInit;
}

/** A fetch that records what it was asked and answers from a list (an Error is a network failure). */
function fakeFetch(answers: ({ status: number; body?: unknown } | Error)[]) {
  const sent: Sent[] = [];
  const fetch = async (url: string, init: FetchInit) => {
    sent.push({ url, init });
    const next = answers.shift();
    if (!next) throw new Error('no answer left');
    if (next instanceof Error) throw next;
    const text = next.body === undefined ? '' : JSON.stringify(next.body);
    return { ok: next.status >= 200 && next.status < 300, status: next.status, text: async () => text };
  };
  return { sent, fetch };
}

const session = {
  id: 'ses_abcdefgh',
  harness: 'shell',
  prompt: 'echo hi',
  status: 'queued',
  deviceId: null,
  deviceName: null,
  labels: {},
  cwd: null,
  exitCode: null,
  signal: null,
  errorCode: null,
  errorMessage: null,
  createdBy: 'usr_1',
  createdAt: 1,
  startedAt: null,
  endedAt: null,
  lastSeq: 0,
  permissionMode: 'ask',
  model: null,
  harnessSessionId: null,
  parentId: null,
  placement: null,
  queuedUntil: null,
  pendingApprovals: 0,
  credentials: [],
};

describe('the typed client', () => {
  it('has one method per JSON route of the table, named as in it', () => {
    const api = createClient(routes, { baseUrl: '', auth: bearerAuth('tok'), fetch: fakeFetch([]).fetch });
    const json = Object.entries(routes)
      .filter(([, r]) => !('kind' in r) || r.kind === 'json')
      .map(([name]) => name);
    expect(json.every((name) => typeof (api as unknown as Record<string, unknown>)[name] === 'function')).toBe(true);
    expect('streamSession' in api).toBe(false);
  });

  it('fills path parameters and the query, sends the bearer token, and parses the answer', async () => {
    const f = fakeFetch([{ status: 200, body: { session, events: [] } }]);
    const api = createClient(routes, { baseUrl: 'http://127.0.0.1:7300/', auth: bearerAuth('tok'), fetch: f.fetch });
    const page = await api.sessionEvents({ params: { id: 'ses a/b' }, query: { after: 3, limit: 10 } });
    expect(page.session.id).toBe('ses_abcdefgh');
    expect(f.sent[0]).toEqual({
      url: 'http://127.0.0.1:7300/api/sessions/ses%20a%2Fb/events?after=3&limit=10',
      init: { method: 'GET', headers: { authorization: 'Bearer tok' } },
    });
  });

  it('sends writes as JSON ({} when the route takes no body), with the CSRF header and the cookie for a browser', async () => {
    const f = fakeFetch([{ status: 200, body: { ok: true } }, { status: 204 }]);
    const api = createClient(routes, { baseUrl: '', auth: cookieAuth, fetch: f.fetch });
    expect(await api.logout()).toEqual({ ok: true });
    expect(await api.deleteCard({ params: { id: 'crd_1' } })).toBeUndefined();
    expect(f.sent.map((s) => [s.url, s.init])).toEqual([
      [
        '/api/auth/logout',
        {
          method: 'POST',
          headers: { 'x-fabric-csrf': '1', 'content-type': 'application/json' },
          body: '{}',
          credentials: 'same-origin',
        },
      ],
      ['/api/board/cards/crd_1', { method: 'DELETE', headers: { 'x-fabric-csrf': '1' }, credentials: 'same-origin' }],
    ]);
  });

  it('retries an idempotent create after a network failure with the same Idempotency-Key, and nothing else', async () => {
    const f = fakeFetch([new Error('reset'), { status: 201, body: session }]);
    const waits: number[] = [];
    const api = createClient(routes, {
      baseUrl: '',
      auth: bearerAuth('tok'),
      fetch: f.fetch,
      retry: { attempts: 3, wait: async (n) => void waits.push(n) },
    });
    const view = await api.createSession({ body: { harness: 'shell', prompt: 'echo hi' } });
    expect(view.id).toBe(session.id);
    expect(waits).toEqual([1]);
    const keys = f.sent.map((s) => s.init.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^idem_/);
    expect(keys[1]).toBe(keys[0]);

    const once = fakeFetch([new Error('reset')]);
    const other = createClient(routes, {
      baseUrl: '',
      auth: bearerAuth('tok'),
      fetch: once.fetch,
      retry: { attempts: 3, wait: async () => {} },
    });
    await expect(other.listDevices()).rejects.toMatchObject({ code: 'server_unreachable' });
    expect(once.sent).toHaveLength(1);
  });

  it("throws the server's code and message, and says so when an answer does not fit the contract", async () => {
    const f = fakeFetch([
      { status: 404, body: { code: 'session_not_found', message: 'no session ses_x' } },
      { status: 502 },
      { status: 200, body: { sessions: [{ id: 1 }] } },
    ]);
    const api = createClient(routes, { baseUrl: '', auth: bearerAuth('tok'), fetch: f.fetch });
    await expect(api.getSession({ params: { id: 'ses_x' } })).rejects.toEqual(
      new FabricError('session_not_found', 'no session ses_x'),
    );
    await expect(api.getSession({ params: { id: 'ses_x' } })).rejects.toMatchObject({ code: 'internal' });
    await expect(api.listSessions()).rejects.toMatchObject({
      code: 'internal',
      message: expect.stringContaining('GET /api/sessions'),
    });
  });

  it('lets the caller choose the errors, and builds URLs for streams and sockets', async () => {
    const f = fakeFetch([{ status: 401, body: { code: 'token_expired', message: 'token has expired' } }]);
    const api = createClient(routes, {
      baseUrl: 'http://h:1',
      auth: bearerAuth('tok'),
      fetch: f.fetch,
      failure: (status, body) => new Error(`${status} ${body?.code ?? '-'}`),
    });
    await expect(api.me()).rejects.toThrow('401 token_expired');
    expect(api.$url('streamSession', { params: { id: 's1' }, query: { after: '4' } })).toBe(
      'http://h:1/api/sessions/s1/stream?after=4',
    );
    expect(api.$url('browserSocket')).toBe('http://h:1/ws/browser');
  });
});

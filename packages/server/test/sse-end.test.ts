import { afterEach, describe, expect, it } from 'vitest';
import type { SessionView } from '@fabric/protocol';
import { testServer } from './harness.js';

type TestServer = Awaited<ReturnType<typeof testServer>>;
let current: TestServer | null = null;

afterEach(async () => {
  await current?.server.close();
  current = null;
});

/** A session that ended (queued on a device that never came, then cancelled), and its last sequence number. */
async function finishedSession() {
  const t = (current = await testServer());
  const paired = await t.pairDevice('away');
  const res = await t.api('/api/sessions', {
    body: { harness: 'shell', prompt: 'echo hi', deviceId: paired.deviceId },
  });
  expect(res.status).toBe(201);
  const view = (await res.json()) as SessionView;
  expect((await t.api(`/api/sessions/${view.id}/cancel`, { body: {} })).status).toBe(202);
  const events = (await (await t.api(`/api/sessions/${view.id}/events`)).json()) as {
    session: SessionView;
    events: { seq: number }[];
  };
  expect(events.session.status).toBe('cancelled');
  const last = events.events.at(-1)?.seq ?? 0;
  expect(last).toBeGreaterThan(0);
  return { t, id: view.id, last };
}

describe('the SSE stream of a finished session', () => {
  it('answers a reconnect with a Last-Event-ID at its end with 204, so an EventSource stops', async () => {
    const { t, id, last } = await finishedSession();
    const res = await t.api(`/api/sessions/${id}/stream`, {
      headers: { accept: 'text/event-stream', 'last-event-id': String(last) },
    });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
  });

  it('answers 204 for a Last-Event-ID past its end too', async () => {
    const { t, id, last } = await finishedSession();
    const res = await t.api(`/api/sessions/${id}/stream`, { headers: { 'last-event-id': String(last + 10) } });
    expect(res.status).toBe(204);
  });

  it('still replays what a reconnect missed, then ends with event: end', async () => {
    const { t, id, last } = await finishedSession();
    const res = await t.api(`/api/sessions/${id}/stream`, { headers: { 'last-event-id': String(last - 1) } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain(`id: ${last}\n`);
    expect(text).not.toContain(`id: ${last - 1}\n`);
    expect(text.endsWith(`id: ${last}\nevent: end\ndata: {}\n\n`)).toBe(true);
  });

  it('keeps answering a first connection (no Last-Event-ID) with the whole stream and event: end', async () => {
    const { t, id, last } = await finishedSession();
    const res = await t.api(`/api/sessions/${id}/stream`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain(`id: ${last}\n`);
    expect(text.endsWith(`id: ${last}\nevent: end\ndata: {}\n\n`)).toBe(true);
  });

  it('gives the end frame an id, so an EventSource that reconnects after it gets 204', async () => {
    const { t, id } = await finishedSession();
    const text = await (await t.api(`/api/sessions/${id}/stream`)).text();
    // What an EventSource does with the frames: the last id: field it saw becomes its Last-Event-ID.
    const lastId = [...text.matchAll(/^id: (\d+)$/gm)].at(-1)![1]!;
    const again = await t.api(`/api/sessions/${id}/stream`, { headers: { 'last-event-id': lastId } });
    expect(again.status).toBe(204);
  });
});

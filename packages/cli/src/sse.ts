import { FabricError, streamEventSchema, type StreamEvent } from '@fabric/protocol';
import type { Api } from './api.js';

export interface FollowOptions {
  /** Resume after this sequence (0 = from the start). */
  after?: number;
  onEvent: (e: StreamEvent) => void;
  /** Give up after being unable to reconnect for this long (default 60 s). */
  giveUpMs?: number;
  onReconnect?: (lastSeq: number) => void;
}

/**
 * Follow a session's SSE stream until it ends, reconnecting with
 * `Last-Event-ID` after a drop so nothing is lost or repeated.
 * Resolves with the last sequence seen.
 */
export async function followSession(api: Api, sessionId: string, opts: FollowOptions): Promise<number> {
  let last = opts.after ?? 0;
  let failingSince: number | null = null;
  const giveUpMs = opts.giveUpMs ?? 60_000;
  for (;;) {
    let ended = false;
    try {
      const res = await api.$open('streamSession', {
        params: { id: sessionId },
        headers: { accept: 'text/event-stream', 'last-event-id': String(last) },
      });
      failingSince = null;
      ended = await readStream(res, (e) => {
        if (e.seq <= last) return;
        last = e.seq;
        opts.onEvent(e);
      });
    } catch (err) {
      if (err instanceof FabricError && err.code !== 'server_unreachable') throw err;
    }
    if (ended) return last;
    failingSince ??= Date.now();
    if (Date.now() - failingSince > giveUpMs) {
      throw new FabricError(
        'server_unreachable',
        `lost the stream of ${sessionId} and could not resume it for ${Math.round(giveUpMs / 1000)} s`,
      );
    }
    opts.onReconnect?.(last);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Read SSE frames; true when the server sent `event: end` (or 204: nothing more), false when the connection dropped first. */
async function readStream(res: Response, onEvent: (e: StreamEvent) => void): Promise<boolean> {
  if (res.status === 204) return true; // a finished session, already read to its end
  if (!res.body) return false;
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let split: number;
      while ((split = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, split);
        buffer = buffer.slice(split + 2);
        let event = 'message';
        let data = '';
        for (const line of frame.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data += line.slice(5).trimStart();
        }
        if (event === 'end') return true;
        if (!data) continue;
        const parsed = streamEventSchema.safeParse(JSON.parse(data));
        if (parsed.success) onEvent(parsed.data);
      }
    }
  } catch {
    return false;
  }
  return false;
}

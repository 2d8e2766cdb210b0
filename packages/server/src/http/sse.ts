import type { FastifyReply } from 'fastify';
import { FabricError, isTerminal } from '@fabric/protocol';
import { z } from 'zod';
import { topics } from '../bus.js';
import type { ServerContext } from '../context.js';
import { SessionStream } from '../sessions/stream.js';
import { getSessionRow, readEvents } from '../store/sessions.js';

const resumeSchema = z.coerce.number().int().min(0);
/** Unsent bytes after which a viewer is treated as slow and served from the store once it drains. */
const SLOW_READER_BYTES = 1024 * 1024;

/**
 * `GET /api/sessions/:id/stream`: Server-Sent Events of the session's stored
 * events. Resumes after `Last-Event-ID` (or `?after=`), sends a keepalive
 * comment periodically, and ends with `event: end` once the session is over.
 * A reconnect with a `Last-Event-ID` at (or past) the end of a finished
 * session gets HTTP 204, so a standard EventSource stops.
 */
export async function streamSession(
  ctx: ServerContext,
  reply: FastifyReply,
  sessionId: string,
  resume: { lastEventId: string | undefined; after: string | undefined },
): Promise<void> {
  const row = await getSessionRow(ctx.db, sessionId);
  if (!row) throw new FabricError('session_not_found', `no session ${sessionId}`);
  const { lastEventId } = resume;
  const parsed = resumeSchema.safeParse(lastEventId ?? resume.after ?? '0');
  if (!parsed.success) throw new FabricError('bad_request', 'last-event-id must be a non-negative integer');
  const after = parsed.data;
  // A reconnect (the header, as an EventSource sends it) to a finished stream it has read to the end:
  // 204 is how SSE tells a client to stop reconnecting. `?after=` keeps answering `event: end`.
  if (lastEventId !== undefined && isTerminal(row.status as never) && after >= Number(row.last_seq)) {
    reply.code(204).header('cache-control', 'no-store').send();
    return;
  }

  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write('retry: 2000\n\n');

  const stream = new SessionStream(
    after,
    (a, limit) => readEvents(ctx.db, sessionId, a, limit),
    {
      // res.write() returns false past Node's 16 KiB high-water mark even for a fast
      // reader (chunks coalesce until the next tick); only a real backlog counts as slow.
      write: (chunk) => {
        res.write(chunk);
        return res.writableLength < SLOW_READER_BYTES;
      },
      onDrain: (cb) => res.once('drain', cb),
      end: () => res.end(),
    },
    (err) => {
      ctx.log.error(`stream ${sessionId}: ${String(err)}`);
      res.destroy();
    },
  );
  const unsubscribe = ctx.bus.subscribe(topics.session(sessionId), (e) => stream.offer(e));
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), ctx.keepaliveMs);
  res.on('close', () => {
    clearInterval(keepalive);
    unsubscribe();
    stream.abort();
  });
  if (isTerminal(row.status as never) && after >= Number(row.last_seq)) {
    stream.finish();
    return;
  }
  stream.start();
}

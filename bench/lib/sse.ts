/** Called per complete event: its id (a number, or null without one), its event name and its data. */
export type SseHandler = (id: number | null, event: string, data: string | null) => void;

/**
 * Minimal incremental Server-Sent Events parser: feed it string chunks, it
 * calls `onEvent(id, event, data)` per complete event (id is a number or
 * null, event defaults to "message"). Comments and `retry:` are skipped.
 * Only single-line `data:` fields are expected (both pipelines send one).
 */
export class SseParser {
  private readonly onEvent: SseHandler;
  private buf: string;

  constructor(onEvent: SseHandler) {
    this.onEvent = onEvent;
    this.buf = '';
  }

  push(chunk: string): void {
    const buf = this.buf.length === 0 ? chunk : this.buf + chunk;
    let start = 0;
    for (;;) {
      const end = buf.indexOf('\n\n', start);
      if (end === -1) break;
      this.block(buf, start, end);
      start = end + 2;
    }
    this.buf = start === 0 ? buf : buf.slice(start);
  }

  private block(buf: string, start: number, end: number): void {
    let id: number | null = null;
    let event = 'message';
    let data: string | null = null;
    let pos = start;
    while (pos < end) {
      let nl = buf.indexOf('\n', pos);
      if (nl === -1 || nl > end) nl = end;
      const c = buf.charCodeAt(pos);
      if (c === 100 /* d */ && buf.startsWith('data: ', pos)) {
        data = data === null ? buf.slice(pos + 6, nl) : `${data}\n${buf.slice(pos + 6, nl)}`;
      } else if (c === 105 /* i */ && buf.startsWith('id: ', pos)) {
        id = Number(buf.slice(pos + 4, nl));
      } else if (c === 101 /* e */ && buf.startsWith('event: ', pos)) {
        event = buf.slice(pos + 7, nl);
      }
      pos = nl + 1;
    }
    if (data !== null || id !== null) this.onEvent(id, event, data);
  }
}

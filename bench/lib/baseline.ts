// The baseline pipe for the relay benchmark: a bare `ws` server on a
// node:http server that writes every received text frame to every open SSE
// response as `data: <frame>\n\n`. No auth, no parsing, no persistence; the
// only thing it shares with a real relay is pipe backpressure (a full SSE
// response pauses the WebSocket).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface Baseline {
  url: string;
  close(): Promise<void>;
}

export async function startBaseline(): Promise<Baseline> {
  const viewers = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/stream') {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
      });
      res.write('retry: 2000\n\n');
      viewers.add(res);
      res.on('close', () => viewers.delete(res));
      return;
    }
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const chunk = `data: ${(data as Buffer).toString()}\n\n`;
      for (const res of viewers) {
        if (!res.write(chunk) && !ws.isPaused) {
          ws.pause();
          res.once('drain', () => ws.resume());
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const res of viewers) res.end();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

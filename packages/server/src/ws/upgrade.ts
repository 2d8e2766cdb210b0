import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { FabricError, httpStatusFor, WS_BEARER_PREFIX, WS_PROTOCOL } from '@fabric/protocol';

/**
 * The bearer token offered in `Sec-WebSocket-Protocol` (`fabric.v1,
 * bearer.<jwt>`). Throws `token_missing` if either part is absent.
 */
export function bearerFromProtocols(req: IncomingMessage): string {
  const header = req.headers['sec-websocket-protocol'];
  const offered = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!offered.includes(WS_PROTOCOL) && !offered.some((p) => p.startsWith(WS_BEARER_PREFIX))) {
    throw new FabricError('token_missing', `offer the ${WS_PROTOCOL} subprotocol and a bearer.<token> subprotocol`);
  }
  if (!offered.includes(WS_PROTOCOL)) {
    throw new FabricError('token_missing', `offer the ${WS_PROTOCOL} subprotocol and a bearer.<token> subprotocol`);
  }
  const bearer = offered.find((p) => p.startsWith(WS_BEARER_PREFIX));
  const token = bearer?.slice(WS_BEARER_PREFIX.length);
  if (!token) throw new FabricError('token_missing', 'no bearer.<token> subprotocol offered');
  return token;
}

/** Codes that mean "these credentials will not get in": always 401 on an upgrade, so clients stop retrying. */
const AUTH_FAILURES = new Set([
  'token_missing',
  'token_invalid',
  'token_expired',
  'device_not_found',
  'device_revoked',
]);

/** Answer an upgrade request with an HTTP error before any WebSocket exists. */
export function rejectUpgrade(socket: Duplex, err: FabricError): void {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a code from an older peer may be missing from the table
  const status = AUTH_FAILURES.has(err.code) ? 401 : (httpStatusFor[err.code] ?? 400);
  const body = JSON.stringify(err.toBody());
  const reason =
    status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : status === 403 ? 'Forbidden' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

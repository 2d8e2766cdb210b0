import { request } from 'node:http';
import { errorBodySchema, FabricError } from '@fabric/protocol';
import { AGENT_ENV } from './protocol.js';

/** How a session's process (or, without `sessionId`, the owner) reaches the daemon's agent API. */
export interface AgentEndpoint {
  socket: string;
  sessionId?: string;
  token: string;
}

/** The endpoint from the environment the daemon started this process with, or null when any part is missing. */
export function agentEndpointFromEnv(env: NodeJS.ProcessEnv = process.env): AgentEndpoint | null {
  const socket = env[AGENT_ENV.socket];
  const sessionId = env[AGENT_ENV.sessionId];
  const token = env[AGENT_ENV.token];
  return socket && sessionId && token ? { socket, sessionId, token } : null;
}

/**
 * POST `body` (with this session's id added) to the agent API and return the
 * parsed JSON answer. Throws a FabricError: the daemon's own when it refused
 * (`unauthorized`, `bad_request`…), `server_unreachable` when the socket does
 * not answer. No timeout of its own: an approval waits as long as the daemon
 * lets it.
 */
export function agentCall(endpoint: AgentEndpoint, path: string, body: Record<string, unknown>): Promise<unknown> {
  const json = JSON.stringify(endpoint.sessionId === undefined ? body : { ...body, sessionId: endpoint.sessionId });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: endpoint.socket,
        path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(json),
          authorization: `Bearer ${endpoint.token}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) =>
          reject(new FabricError('server_unreachable', `the daemon's agent socket failed: ${err.message}`)),
        );
        res.on('end', () => {
          let answer: unknown;
          try {
            answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            reject(new FabricError('internal', `the daemon answered ${res.statusCode} without JSON`));
            return;
          }
          if (res.statusCode === 200) {
            resolve(answer);
            return;
          }
          const err = errorBodySchema.safeParse(answer);
          reject(
            err.success
              ? new FabricError(err.data.code, err.data.message)
              : new FabricError('internal', `the daemon answered ${res.statusCode}`),
          );
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        new FabricError('server_unreachable', `the daemon's agent socket does not answer (${err.code ?? err.message})`),
      ),
    );
    req.end(json);
  });
}

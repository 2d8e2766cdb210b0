import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';

// A stand-in for Google's GCM endpoints, so that Chromium's own GCM client
// (the one behind `pushManager.subscribe`) gets a real registration on a
// machine with no internet. Chromium points its client elsewhere with three
// switches (google_apis/gcm/engine/gservices_switches.cc, read in
// gservices_settings.cc): --gcm-checkin-url, --gcm-registration-url and
// --gcm-mcs-endpoint. What each answer must look like, from Chromium's source:
//
// - checkin (google_apis/gcm/engine/checkin_request.cc): a POST of an
//   AndroidCheckinRequest (protobuf); the answer is an AndroidCheckinResponse
//   (google_apis/gcm/protocol/checkin.proto) with the required `stats_ok` and
//   non-zero `android_id` and `security_token`, else Chromium retries.
// - registration (registration_request.cc, instance_id_get_token_request_handler.cc):
//   a form POST with `Authorization: AidLogin <android_id>:<security_token>`
//   and app, X-subtype, device, sender (the VAPID key, base64url), scope...;
//   the answer is the text `token=<token>`, or `Error=<code>`. With `delete=true`
//   the same URL unregisters (unregistration_request.cc, and
//   instance_id_delete_token_request_handler.cc, which wants `token=` back).
// - MCS (the long-lived connection that carries pushes down): not needed to
//   subscribe. GCMClientImpl registers as soon as the checkin gives it
//   credentials; it only *starts* an MCS login then. The stand-in accepts the
//   connection and closes it, so Chromium backs off quietly.
//
// The subscription's endpoint is Chromium's own prefix plus the token
// (chrome/browser/push_messaging/push_messaging_utils.cc CreateEndpoint):
// `https://fcm.googleapis.com/fcm/send/` on the stable channel, and
// `https://jmt17.google.com/fcm/send/` (staging) on other channels, which is
// what Debian's build reports.

/** One registration the stand-in granted, as Chromium asked for it. */
export interface GcmRegistration {
  /** `app`: `org.chromium.linux` for web push (the app id goes in `subtype`). */
  app: string;
  /** `X-subtype`: for web push `wp:<origin>/#<id>`. */
  subtype: string | null;
  /** `sender`: for web push the application server (VAPID) key, base64url. */
  sender: string;
  token: string;
}

export interface GcmStandIn {
  /** The switches that point Chromium's GCM client here. */
  args: string[];
  /** Checkins answered, in order. */
  checkins: number;
  registrations: GcmRegistration[];
  /** Tokens Chromium gave back (`delete=true`). */
  deleted: string[];
  /** MCS connections Chromium opened (each closed at once). */
  mcsConnections: number;
  close(): Promise<void>;
}

/** Start the stand-in on loopback: checkin and registration over HTTP, MCS over TCP. */
export async function startGcmStandIn(): Promise<GcmStandIn> {
  // One device for the stand-in's life: what a checkin hands out, and what every registration must present.
  const androidId = nonZeroU63();
  const securityToken = nonZeroU63();
  const state: Omit<GcmStandIn, 'args' | 'close'> = { checkins: 0, registrations: [], deleted: [], mcsConnections: 0 };

  const http = createHttpServer((req, res) => {
    void readBody(req).then(
      (body) => answer(req, res, body),
      () => res.destroy(),
    );
  });
  function answer(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    if (req.method === 'POST' && req.url === '/checkin') {
      state.checkins += 1;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(checkinResponse(androidId, securityToken));
      return;
    }
    if (req.method === 'POST' && req.url === '/register') {
      if (req.headers.authorization !== `AidLogin ${androidId}:${securityToken}`) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('Error=AUTHENTICATION_FAILED');
        return;
      }
      const form = new URLSearchParams(body.toString('utf8'));
      const app = form.get('app');
      const sender = form.get('sender');
      if (!app || !sender) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('Error=INVALID_PARAMETERS');
        return;
      }
      const subtype = form.get('X-subtype');
      if (form.get('delete') === 'true') {
        // `pushSubscription.unsubscribe()` deletes the whole instance ID: sender and scope are `*`.
        const gone = state.registrations.filter(
          (r) => r.app === app && r.subtype === subtype && (sender === '*' || r.sender === sender),
        );
        state.deleted.push(...gone.map((r) => r.token));
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`token=${gone[0]?.token ?? ''}`);
        return;
      }
      const token = `standin-${randomBytes(24).toString('base64url')}`;
      state.registrations.push({ app, subtype, sender, token });
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`token=${token}`);
      return;
    }
    res.writeHead(404).end();
  }

  const mcs = createTcpServer((socket) => {
    state.mcsConnections += 1;
    socket.destroy();
  });

  const httpPort = await listen(http);
  const mcsPort = await listen(mcs);
  const args = [
    `--gcm-checkin-url=http://127.0.0.1:${httpPort}/checkin`,
    `--gcm-registration-url=http://127.0.0.1:${httpPort}/register`,
    // The MCS client dials TLS to this host and port (connection_factory_impl.cc: use_tls = true).
    `--gcm-mcs-endpoint=https://127.0.0.1:${mcsPort}`,
  ];
  return Object.assign(state, {
    args,
    async close() {
      http.closeAllConnections();
      await Promise.all([close(http), close(mcs)]);
    },
  });
}

/**
 * AndroidCheckinResponse, hand-encoded (proto2): stats_ok = 1 (varint, true),
 * android_id = 7 and security_token = 8 (both fixed64, little-endian).
 */
export function checkinResponse(androidId: bigint, securityToken: bigint): Buffer {
  const fixed64 = (tag: number, n: bigint): Buffer => {
    const b = Buffer.alloc(9);
    b[0] = tag;
    b.writeBigUInt64LE(n, 1);
    return b;
  };
  return Buffer.concat([
    Buffer.from([(1 << 3) | 0, 1]),
    fixed64((7 << 3) | 1, androidId),
    fixed64((8 << 3) | 1, securityToken),
  ]);
}

function nonZeroU63(): bigint {
  // Below 2^63: Chromium keeps both as uint64 but the checkin request carries the id as int64.
  return (randomBytes(8).readBigUInt64BE() >> 1n) | 1n;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

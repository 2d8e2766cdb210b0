import { execFileSync } from 'node:child_process';
import { createDecipheriv, createECDH, hkdfSync, randomBytes, type ECDH } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One request a push service received. */
export interface PushRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * A push service on loopback, for tests: HTTPS (web-push speaks nothing
 * else) with a throwaway self-signed certificate made by `openssl`, and an
 * `agent` that trusts only that certificate. It records what arrives and
 * answers each path with the status set for it (201 by default, as real
 * push services do).
 */
export class FakePushService {
  readonly received: PushRequest[] = [];
  readonly agent: Agent;
  private readonly statuses = new Map<string, number>();
  private waiters: { match: (r: PushRequest) => boolean; resolve: (r: PushRequest) => void }[] = [];

  private constructor(
    private readonly server: Server,
    readonly origin: string,
    cert: Buffer,
    private readonly dir: string,
  ) {
    this.agent = new Agent({ ca: cert, keepAlive: false });
  }

  static async start(): Promise<FakePushService> {
    if (!existsSync('/usr/bin/openssl')) throw new Error('/usr/bin/openssl is missing: apt-get install -y openssl');
    const dir = mkdtempSync(join(tmpdir(), 'fabric-push-'));
    execFileSync(
      '/usr/bin/openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'));
    let self: FakePushService | null = null;
    const server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const got: PushRequest = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        const status = self!.statuses.get(got.path) ?? 201;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 400 ? `push service says ${status}` : '');
        self!.received.push(got);
        for (const w of [...self!.waiters]) {
          if (w.match(got)) {
            self!.waiters.splice(self!.waiters.indexOf(w), 1);
            w.resolve(got);
          }
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new FakePushService(server, `https://localhost:${(server.address() as AddressInfo).port}`, cert, dir);
    return self;
  }

  /** Answer requests to `path` with `status` from now on. */
  answer(path: string, status: number): void {
    this.statuses.set(path, status);
  }

  /** The next request (already received or still to come) matching `match`. */
  next(match: (r: PushRequest) => boolean, timeoutMs = 20_000): Promise<PushRequest> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no push request arrived')), timeoutMs);
      this.waiters.push({
        match,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The browser's half of a push subscription, as the test plays it: a P-256
 * key pair and a 16-byte auth secret, and RFC 8291 decryption written out
 * here from the RFC (not web-push's own code), so a message that decrypts
 * proves the server encrypted it to these keys.
 */
export class PushKeys {
  readonly ecdh: ECDH = createECDH('prime256v1');
  readonly auth = randomBytes(16);

  constructor() {
    this.ecdh.generateKeys();
  }

  toJSON(): { p256dh: string; auth: string } {
    return { p256dh: this.ecdh.getPublicKey().toString('base64url'), auth: this.auth.toString('base64url') };
  }

  /** Decrypt an `aes128gcm` body (RFC 8188 header, one record, RFC 8291 keys). Throws if it does not authenticate. */
  decrypt(body: Buffer): { text: string; recordSize: number } {
    const salt = body.subarray(0, 16);
    const recordSize = body.readUInt32BE(16);
    const idLength = body[20]!;
    const serverKey = body.subarray(21, 21 + idLength);
    const record = body.subarray(21 + idLength);
    if (idLength !== 65 || record.length > recordSize)
      throw new Error(
        `unexpected aes128gcm header (keyid ${idLength} bytes, record ${record.length} of ${recordSize})`,
      );
    const shared = this.ecdh.computeSecret(serverKey);
    const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), this.ecdh.getPublicKey(), serverKey]);
    const ikm = Buffer.from(hkdfSync('sha256', shared, this.auth, keyInfo, 32));
    const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
    const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
    const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    let end = padded.length - 1;
    while (end >= 0 && padded[end] === 0) end--;
    if (padded[end] !== 2) throw new Error('the last record does not end with the 0x02 delimiter');
    return { text: padded.subarray(0, end).toString('utf8'), recordSize };
  }
}

import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * A software WebAuthn authenticator for in-process server tests: one ES256
 * discoverable credential with user verification, "none" attestation, and a
 * signature counter. It builds the same JSON @simplewebauthn/browser posts,
 * byte for byte as the spec lays it out (authenticator data, CBOR
 * attestation object, DER ECDSA signatures), so the server's real
 * verification runs on it. The browser test uses Chromium's own virtual
 * authenticator instead.
 */
export class SoftAuthenticator {
  readonly credentialId = randomBytes(32);
  private readonly key: { publicKey: KeyObject; privateKey: KeyObject };
  counter = 0;
  userHandle: Uint8Array | null = null;
  rpId: string | null = null;

  constructor(readonly origin: string) {
    this.key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  /** Answer registration options (the server's `PublicKeyCredentialCreationOptionsJSON`). */
  create(
    options: { challenge: string; rp: { id?: string }; user: { id: string } },
    over: { origin?: string; flags?: number } = {},
  ) {
    this.rpId = options.rp.id ?? new URL(this.origin).hostname;
    this.userHandle = Buffer.from(options.user.id, 'base64url');
    const jwk = this.key.publicKey.export({ format: 'jwk' });
    const cose = cbor(
      new Map<number, unknown>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    const authData = Buffer.concat([
      this.authDataHead(over.flags ?? 0x45), // UP | UV | AT
      Buffer.alloc(16), // aaguid
      idLength,
      this.credentialId,
      cose,
    ]);
    const clientDataJSON = Buffer.from(
      JSON.stringify({
        type: 'webauthn.create',
        challenge: options.challenge,
        origin: over.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
    const attestationObject = cbor(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
    };
  }

  /** Answer authentication options with this credential (as a discoverable one: the user handle is included). */
  get(
    options: { challenge: string },
    over: { origin?: string; flags?: number; counter?: number; signWith?: KeyObject } = {},
  ) {
    if (over.counter !== undefined) this.counter = over.counter - 1;
    const authData = this.authDataHead(over.flags ?? 0x05); // UP | UV
    const clientDataJSON = Buffer.from(
      JSON.stringify({
        type: 'webauthn.get',
        challenge: options.challenge,
        origin: over.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
    const signed = Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()]);
    const signature = sign('sha256', signed, over.signWith ?? this.key.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(this.userHandle ? { userHandle: b64url(this.userHandle) } : {}),
      },
    };
  }

  private authDataHead(flags: number): Buffer {
    const rpIdHash = createHash('sha256')
      .update(this.rpId ?? new URL(this.origin).hostname)
      .digest();
    const count = Buffer.alloc(4);
    count.writeUInt32BE(++this.counter);
    return Buffer.concat([rpIdHash, Buffer.from([flags]), count]);
  }
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Just enough CBOR (RFC 8949) for COSE keys and attestation objects: ints, byte and text strings, maps. */
function cbor(value: unknown): Buffer {
  const head = (major: number, n: number): Buffer => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
    if (n < 0x10000) {
      const b = Buffer.alloc(3);
      b[0] = (major << 5) | 25;
      b.writeUInt16BE(n, 1);
      return b;
    }
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(n, 1);
    return b;
  };
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const s = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, s.length), s]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), Buffer.from(value)]);
  if (value instanceof Map) {
    const parts: Buffer[] = [head(5, value.size)];
    for (const [k, v] of value) parts.push(cbor(k), cbor(v));
    return Buffer.concat(parts);
  }
  throw new Error(`cbor: cannot encode ${typeof value}`);
}

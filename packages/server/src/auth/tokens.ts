import { randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import {
  FabricError,
  tokenClaimsSchema,
  tokenLifetimes,
  type TokenClaims,
  type TokenType,
  type UserClaims,
} from '@fabric/protocol';
import type { Clock } from '../clock.js';
import type { KeyRing } from './keyring.js';

/** Claims for a token type; `browser` and `cli` share the user claims shape. */
type ClaimsOf<T extends TokenType> = T extends 'browser' | 'cli' ? UserClaims : Extract<TokenClaims, { typ: T }>;
type Body<T extends TokenType> = Omit<ClaimsOf<T>, 'jti' | 'iat' | 'exp' | 'iss' | 'typ'>;

/** Signs and verifies every token the control plane issues (HS256, `kid` in the header). */
export class Tokens {
  constructor(
    private readonly keys: KeyRing,
    private readonly clock: Clock,
  ) {}

  /** Sign a token of type `typ` with its standard lifetime; returns the token and its expiry (ms). */
  async sign<T extends TokenType>(
    typ: T,
    body: Body<T>,
    jti = randomBytes(12).toString('base64url'),
  ): Promise<{ token: string; expiresAt: number; jti: string }> {
    const { kid, secret } = this.keys.current();
    const iat = Math.floor(this.clock.now() / 1000);
    const exp = iat + tokenLifetimes[typ];
    const token = await new SignJWT({ ...body, typ })
      .setProtectedHeader({ alg: 'HS256', kid })
      .setIssuer('fabric')
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(secret);
    return { token, expiresAt: exp * 1000, jti };
  }

  /**
   * Verify a token and require one of `types`. Throws FabricError
   * `token_expired` or `token_invalid`; never echoes the token.
   */
  async verify<T extends TokenType>(token: string, types: readonly T[]): Promise<ClaimsOf<T>> {
    let payload: unknown;
    try {
      const result = await jwtVerify(
        token,
        async (header) => {
          const key = this.keys.verifying(header.kid);
          if (!key) throw new FabricError('token_invalid', 'token was signed by an unknown or expired key');
          return key;
        },
        { algorithms: ['HS256'], issuer: 'fabric', currentDate: new Date(this.clock.now()) },
      );
      payload = result.payload;
    } catch (err) {
      if (err instanceof FabricError) throw err;
      if (err instanceof joseErrors.JWTExpired)
        throw new FabricError('token_expired', 'token has expired; sign in again');
      throw new FabricError('token_invalid', 'token is not valid');
    }
    const claims = tokenClaimsSchema.safeParse(payload);
    if (!claims.success) throw new FabricError('token_invalid', 'token claims are malformed');
    if (!(types as readonly string[]).includes(claims.data.typ)) {
      throw new FabricError('token_invalid', `a ${claims.data.typ} token cannot be used here`);
    }
    return claims.data as ClaimsOf<T>;
  }
}

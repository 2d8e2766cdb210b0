import { z } from 'zod';
import { roleSchema } from '../tokens.js';
import { defineRoutes } from './route.js';

const b64url = z
  .string()
  .max(16_384)
  .regex(/^[A-Za-z0-9_-]*$/, 'must be base64url');
const extensionResults = z.record(z.string(), z.unknown()).default({});

/** What `navigator.credentials.create` answered, as @simplewebauthn/browser encodes it. */
export const registrationResponseSchema = z.object({
  id: b64url.min(1).max(1024),
  rawId: b64url.min(1).max(1024),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: extensionResults,
  response: z.object({
    clientDataJSON: b64url,
    attestationObject: b64url,
    authenticatorData: b64url.optional(),
    transports: z.array(z.string().max(32)).max(10).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: b64url.optional(),
  }),
});

/** What `navigator.credentials.get` answered, as @simplewebauthn/browser encodes it. */
export const authenticationResponseSchema = z.object({
  id: b64url.min(1).max(1024),
  rawId: b64url.min(1).max(1024),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: extensionResults,
  response: z.object({
    clientDataJSON: b64url,
    authenticatorData: b64url,
    signature: b64url,
    userHandle: b64url.optional(),
  }),
});

export const registerPasskeyRequestSchema = z.object({
  response: registrationResponseSchema,
  /** What the owner calls this passkey ("phone", "yubikey"). */
  label: z.string().max(64).optional(),
});
export const authenticatePasskeyRequestSchema = z.object({ response: authenticationResponseSchema });

/**
 * WebAuthn options for `navigator.credentials.create` / `.get`, made by
 * @simplewebauthn/server and handed as they are to @simplewebauthn/browser:
 * the contract names the challenge and passes the rest through.
 */
export const ceremonyOptionsSchema = z.looseObject({ challenge: z.string() });

/** A passkey as its owner sees it; no key material. */
export const passkeyViewSchema = z.object({
  id: z.string(),
  label: z.string(),
  transports: z.array(z.string()),
  /** `multiDevice` when the passkey syncs (backed up by a password manager), else `singleDevice`. */
  deviceType: z.string(),
  backedUp: z.boolean(),
  createdAt: z.number(),
  lastUsedAt: z.number().nullable(),
});
export type PasskeyView = z.infer<typeof passkeyViewSchema>;

/** Whether this browser's 30-day trust window is open, and until when (ms). */
export const trustStateSchema = z.object({ trusted: z.boolean(), expiresAt: z.number().nullable() });
export type TrustState = z.infer<typeof trustStateSchema>;

const passkeyParamsSchema = z.object({ id: b64url.min(1).max(1024) });

const ceremonies = 'Options are rate limited per address; verifies per address and per account or passkey.';

/**
 * Passkey sign-in under `/api/auth/passkeys`. Each ceremony's challenge id
 * travels in an HttpOnly cookie (`fabric_webauthn`) from options to verify;
 * both verifies also trust this browser for 30 days (`fabric_trust`).
 */
export const passkeyRoutes = defineRoutes({
  passkeyRegistrationOptions: {
    method: 'POST',
    path: '/api/auth/passkeys/registration/options',
    tag: 'passkeys',
    summary: 'start enrolling a passkey for the signed-in person',
    description: ceremonies,
    auth: 'user',
    response: ceremonyOptionsSchema,
  },
  passkeyRegistrationVerify: {
    method: 'POST',
    path: '/api/auth/passkeys/registration/verify',
    tag: 'passkeys',
    summary: 'finish enrolling: store the passkey and trust this browser for 30 days',
    description: ceremonies,
    auth: 'user',
    body: registerPasskeyRequestSchema,
    status: 201,
    response: z.object({ passkey: passkeyViewSchema, trustedUntil: z.number() }),
  },
  passkeyAuthenticationOptions: {
    method: 'POST',
    path: '/api/auth/passkeys/authentication/options',
    tag: 'passkeys',
    summary: 'start a usernameless passkey sign-in',
    description: ceremonies,
    auth: 'public',
    response: ceremonyOptionsSchema,
  },
  passkeyAuthenticationVerify: {
    method: 'POST',
    path: '/api/auth/passkeys/authentication/verify',
    tag: 'passkeys',
    summary: 'finish a passkey sign-in: sets the session cookie and trusts this browser for 30 days',
    description: `The session token stays in its HttpOnly cookie. ${ceremonies}`,
    auth: 'public',
    body: authenticatePasskeyRequestSchema,
    response: z.object({
      user: z.object({ id: z.string(), name: z.string(), role: roleSchema }),
      expiresAt: z.number(),
      trustedUntil: z.number(),
    }),
  },
  listPasskeys: {
    method: 'GET',
    path: '/api/auth/passkeys',
    tag: 'passkeys',
    summary: "the signed-in person's passkeys",
    auth: 'user',
    response: z.object({ passkeys: z.array(passkeyViewSchema) }),
  },
  deletePasskey: {
    method: 'DELETE',
    path: '/api/auth/passkeys/:id',
    tag: 'passkeys',
    summary: 'remove one of your passkeys',
    auth: 'user',
    params: passkeyParamsSchema,
    status: 204,
    response: null,
  },
  passkeyTrust: {
    method: 'GET',
    path: '/api/auth/passkeys/trust',
    tag: 'passkeys',
    summary: 'whether this browser is trusted, and until when',
    description: 'Only the browser holding the trust cookie learns anything, and only an expiry.',
    auth: 'public',
    response: trustStateSchema,
  },
});

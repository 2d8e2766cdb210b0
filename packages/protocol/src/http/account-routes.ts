import { z } from 'zod';
import {
  authResponseSchema,
  codeResponseSchema,
  healthSchema,
  inviteRequestSchema,
  loginRequestSchema,
  redeemRequestSchema,
} from '../api.js';
import { roleSchema } from '../tokens.js';
import { okResponseSchema } from './common.js';
import { defineRoutes } from './route.js';

/** `GET /api/auth/me`: who this credential signs in, and until when (ms). */
export const meResponseSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: roleSchema,
  expiresAt: z.number(),
});
export type MeResponse = z.infer<typeof meResponseSchema>;

/** Liveness, this document, and people: sign-in, sign-out, invites. */
export const accountRoutes = defineRoutes({
  health: {
    method: 'GET',
    path: '/healthz',
    tag: 'meta',
    summary: 'liveness: version, mode and how many devices are online',
    auth: 'public',
    response: healthSchema,
  },
  openApi: {
    method: 'GET',
    path: '/api/openapi.json',
    tag: 'meta',
    summary: 'this API as an OpenAPI 3.1 document, generated from the route table',
    auth: 'public',
    response: z.record(z.string(), z.unknown()),
  },
  redeem: {
    method: 'POST',
    path: '/api/auth/redeem',
    tag: 'auth',
    summary: "redeem an owner setup code or a member invite: creates the account (or sets the owner's password)",
    description:
      'With `client: "browser"` the token is also set as the session cookie. Failed codes are rate limited per address.',
    auth: 'public',
    body: redeemRequestSchema,
    status: 201,
    response: authResponseSchema,
  },
  login: {
    method: 'POST',
    path: '/api/auth/login',
    tag: 'auth',
    summary: 'sign in with a name and password',
    description:
      'Failed attempts are rate limited per address and per account name. A browser sign-in to an account with a passkey needs a trusted browser (`passkey_required` otherwise).',
    auth: 'public',
    body: loginRequestSchema,
    response: authResponseSchema,
  },
  logout: {
    method: 'POST',
    path: '/api/auth/logout',
    tag: 'auth',
    summary: "forget this browser's session cookie",
    auth: 'public',
    response: okResponseSchema,
  },
  me: {
    method: 'GET',
    path: '/api/auth/me',
    tag: 'auth',
    summary: 'who is signed in',
    auth: 'user',
    response: meResponseSchema,
  },
  createInvite: {
    method: 'POST',
    path: '/api/auth/invites',
    tag: 'auth',
    summary: 'make an invite code for a new member (or owner)',
    auth: 'owner',
    body: inviteRequestSchema,
    status: 201,
    response: codeResponseSchema,
    cloudOnly: true,
  },
});

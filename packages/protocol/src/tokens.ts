import { z } from 'zod';

/** Token lifetimes in seconds (BRIEF: browser 12 h, device 30 d, pairing 10 min, recovery 1 h). */
export const tokenLifetimes = {
  browser: 12 * 60 * 60,
  cli: 30 * 24 * 60 * 60,
  device: 30 * 24 * 60 * 60,
  pairing: 10 * 60,
  recovery: 60 * 60,
} as const;

export const roleSchema = z.enum(['owner', 'member']);
export type Role = z.infer<typeof roleSchema>;

const base = {
  jti: z.string().min(8),
  iat: z.number().int(),
  exp: z.number().int(),
  iss: z.literal('fabric'),
};

/** A person, signed in from a browser (12 h) or the CLI (30 d). */
export const userClaimsSchema = z.object({
  ...base,
  typ: z.enum(['browser', 'cli']),
  sub: z.string().min(1),
  role: roleSchema,
  name: z.string(),
});

/** A paired device: the only token `/ws/device` accepts. */
export const deviceClaimsSchema = z.object({
  ...base,
  typ: z.literal('device'),
  sub: z.string().min(1),
});

/** Lets one device pair once within 10 minutes; `jti` is consumed on use. */
export const pairingClaimsSchema = z.object({
  ...base,
  typ: z.literal('pairing'),
  /** The user who asked for it; the device will belong to their fleet. */
  sub: z.string().min(1),
});

export const tokenClaimsSchema = z.discriminatedUnion('typ', [
  userClaimsSchema,
  deviceClaimsSchema,
  pairingClaimsSchema,
]);
export type UserClaims = z.infer<typeof userClaimsSchema>;
export type DeviceClaims = z.infer<typeof deviceClaimsSchema>;
export type PairingClaims = z.infer<typeof pairingClaimsSchema>;
export type TokenClaims = z.infer<typeof tokenClaimsSchema>;
export type TokenType = TokenClaims['typ'];

/** WebSocket subprotocols: the client offers both, the server selects only the first. */
export const WS_PROTOCOL = 'fabric.v1';
export const WS_BEARER_PREFIX = 'bearer.';

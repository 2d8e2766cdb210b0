import { z } from 'zod';
import {
  codeResponseSchema,
  deviceShareRequestSchema,
  deviceViewSchema,
  pairRequestSchema,
  pairResponseSchema,
  updateDeviceRequestSchema,
} from '../api.js';
import { ledgerCheckpointListSchema } from '../ledger.js';
import { idParamsSchema } from './common.js';
import { defineRoutes } from './route.js';

/** Most checkpoints one page of `GET /api/devices/:id/ledger` holds. */
export const MAX_LEDGER_PAGE = 5000;

export const ledgerQuerySchema = z.object({
  /** Checkpoints after this seq: the last one of the previous page. */
  afterSeq: z.coerce.number<number>().int().min(0).default(0),
  limit: z.coerce.number<number>().int().min(1).max(MAX_LEDGER_PAGE).default(1000),
});

const deviceView = { response: deviceViewSchema } as const;
const byIdOrName = 'A device goes by its id or its name.';

/** Pairing, the fleet's devices, their sharing and their ledger anchors; and the two sockets. */
export const deviceRoutes = defineRoutes({
  createPairingToken: {
    method: 'POST',
    path: '/api/devices/pairing-tokens',
    tag: 'devices',
    summary: 'a one-time pairing token (10 minutes) for a device to join your fleet',
    auth: 'user',
    status: 201,
    response: codeResponseSchema,
    cloudOnly: true,
  },
  pairDevice: {
    method: 'POST',
    path: '/api/devices/pair',
    tag: 'devices',
    summary: 'pair a device with a pairing token: answers its device token',
    description: 'The pairing token in the body is the credential. Failed tokens are rate limited per address.',
    auth: 'public',
    body: pairRequestSchema,
    status: 201,
    response: pairResponseSchema,
    cloudOnly: true,
  },
  listDevices: {
    method: 'GET',
    path: '/api/devices',
    tag: 'devices',
    summary: 'the devices you may see: yours, shared with you, or every one for an owner',
    auth: 'user',
    response: z.object({ devices: z.array(deviceViewSchema) }),
  },
  getDevice: {
    method: 'GET',
    path: '/api/devices/:id',
    tag: 'devices',
    summary: 'one device',
    description: byIdOrName,
    auth: 'user',
    params: idParamsSchema,
    ...deviceView,
  },
  updateDevice: {
    method: 'PATCH',
    path: '/api/devices/:id',
    tag: 'devices',
    summary: 'rename, drain or undrain a device, or set its priority',
    description: `${byIdOrName} Only its pairer or an owner may.`,
    auth: 'user',
    params: idParamsSchema,
    body: updateDeviceRequestSchema,
    ...deviceView,
  },
  revokeDevice: {
    method: 'POST',
    path: '/api/devices/:id/revoke',
    tag: 'devices',
    summary: 'revoke a device: its token stops working and its socket closes',
    description: `${byIdOrName} Only its pairer or an owner may.`,
    auth: 'user',
    params: idParamsSchema,
    ...deviceView,
  },
  shareDevice: {
    method: 'POST',
    path: '/api/devices/:id/shares',
    tag: 'devices',
    summary: 'let another person see and use a device (owners)',
    auth: 'user',
    params: idParamsSchema,
    body: deviceShareRequestSchema,
    status: 201,
    ...deviceView,
  },
  unshareDevice: {
    method: 'DELETE',
    path: '/api/devices/:id/shares/:user',
    tag: 'devices',
    summary: 'stop sharing a device with a person (owners)',
    auth: 'user',
    params: z.object({ id: z.string().min(1).max(128), user: z.string().min(1).max(64) }),
    ...deviceView,
  },
  deviceLedger: {
    method: 'GET',
    path: '/api/devices/:id/ledger',
    tag: 'devices',
    summary: "the device's pinned ledger key and accepted checkpoints, oldest first, a page at a time",
    description:
      'Read on with `afterSeq` set to the last seq received until a page comes back short. An owner may read any device (by id or name, revoked ones too); a device only its own, with its device token.',
    auth: 'owner_or_device',
    params: idParamsSchema,
    query: ledgerQuerySchema,
    response: ledgerCheckpointListSchema,
  },
  deviceSocket: {
    method: 'GET',
    path: '/ws/device',
    tag: 'sockets',
    summary: "a device's one connection: envelopes both ways",
    description:
      'Offer the subprotocols `fabric.v1` and `bearer.<device token>`; the server selects only `fabric.v1`. A refused token is answered 401 before any WebSocket exists.',
    auth: 'device',
    kind: 'websocket',
    response: null,
  },
  browserSocket: {
    method: 'GET',
    path: '/ws/browser',
    tag: 'sockets',
    summary: 'live fleet changes (`fleet.device`, `fleet.session`, `fleet.board`) the viewer may see',
    description:
      'Authenticated by the session cookie (same origin only) or by the subprotocols `fabric.v1` and `bearer.<token>`.',
    auth: 'user',
    kind: 'websocket',
    response: null,
  },
});

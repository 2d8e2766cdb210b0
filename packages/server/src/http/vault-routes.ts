import { FabricError, type UserClaims } from '@fabric/protocol';
import type { FastifyRequest } from 'fastify';
import { policy } from '../auth/policy.js';
import type { ServerContext } from '../context.js';
import type { VaultCaller } from '../vault/store.js';
import type { Bindings } from './bind.js';
import { RateLimiter } from './ratelimit.js';

type VaultRoute =
  | 'getVaultSet'
  | 'listVaultSets'
  | 'putVaultSet'
  | 'listVaultEntries'
  | 'getVaultEntry'
  | 'listVaultEntryWrites'
  | 'putVaultEntry'
  | 'deleteVaultEntry'
  | 'shareVaultEntry'
  | 'unshareVaultEntry'
  | 'rewrapVault'
  | 'enrolVaultIdentity'
  | 'getVaultIdentity'
  | 'reportVaultAccess'
  | 'readVaultLog';

const ownersOnly = { action: 'manage_vault', refusal: 'only an owner can do this' } as const;

/**
 * `/api/vault/*`: ciphertext in, ciphertext out. Changing the recipient set,
 * rewrapping and the access log are owners' (`manage_vault`). Each entry's
 * access list (`vault/access.ts`) decides who may see, read, overwrite,
 * delete or share it. Everything an unlock touches (the set, entries,
 * wrapped unlock material) is rate limited per person and address.
 */
export function vaultBindings(ctx: ServerContext): Bindings<VaultRoute> {
  const { vault } = ctx;
  const unlockLimiter = new RateLimiter(ctx.clock, 10, 60_000);
  const readLimiter = new RateLimiter(ctx.clock, 120, 60_000);
  const actor = (user: UserClaims) => `user:${user.sub}`;
  const caller = (user: UserClaims): VaultCaller => ({ id: user.sub, role: user.role, client: user.typ });
  /** A read that counts against the person's budget at this address. */
  const limitedRead = (user: UserClaims, req: FastifyRequest) => {
    readLimiter.take(`user:${user.sub}@${req.ip}`);
  };

  return {
    getVaultSet: {
      guard: limitedRead,
      handle: async () => ({ set: await vault.requireSet() }),
    },

    /** The versions after `after`, so a client can check every link of the chain it missed. */
    listVaultSets: {
      guard: limitedRead,
      handle: async ({ query }) => ({ sets: await vault.setsAfter(query.after) }),
    },

    putVaultSet: {
      owner: ownersOnly,
      handle: async ({ caller: user, body }) => {
        await vault.putSet(body.set, actor(user));
        return { set: body.set };
      },
    },

    /** With `?ciphertext=1` (owners), every entry's ciphertext too: what a rewrap needs in one read. A member sees only the entries they may use. */
    listVaultEntries: {
      handle: async ({ caller: user, query, req }) => {
        if (query.ciphertext === '1') {
          if (!policy.account(user, ownersOnly.action)) throw new FabricError('forbidden', ownersOnly.refusal);
          return { entries: await vault.listWithCiphertext(actor(user)) };
        }
        limitedRead(user, req);
        return { entries: await vault.listEntries(caller(user)) };
      },
    },

    getVaultEntry: {
      guard: limitedRead,
      handle: async ({ caller: user, params }) => vault.getEntry(params.name, caller(user)),
    },

    /** Who wrote each version of an entry, and through which client. */
    listVaultEntryWrites: {
      guard: limitedRead,
      handle: async ({ caller: user, params }) => ({ writes: await vault.writes(params.name, caller(user)) }),
    },

    putVaultEntry: {
      handle: async ({ caller: user, params, body }) => vault.putEntry(params.name, body, caller(user)),
    },

    deleteVaultEntry: {
      handle: async ({ caller: user, params }) => vault.deleteEntry(params.name, caller(user)),
    },

    shareVaultEntry: {
      handle: async ({ caller: user, params, body }) => vault.share(params.name, caller(user), body.user, body.write),
    },

    unshareVaultEntry: {
      handle: async ({ caller: user, params }) => vault.unshare(params.name, caller(user), params.user),
    },

    rewrapVault: {
      owner: ownersOnly,
      handle: async ({ caller: user, body }) => ({ entries: await vault.rewrap(body, caller(user)) }),
    },

    enrolVaultIdentity: {
      handle: async ({ caller: user, body }) => {
        await vault.enrolIdentity(body, actor(user));
        return { ok: true };
      },
    },

    getVaultIdentity: {
      guard: (user, req) => {
        unlockLimiter.take(`${actor(user)}@${req.ip}`);
      },
      handle: async ({ caller: user, params }) => vault.unlockMaterial(params.id, actor(user), user.role === 'owner'),
    },

    /** Clients report what they decrypted: the server never sees a read happen. */
    reportVaultAccess: {
      handle: async ({ caller: user, body }) => {
        await vault.log(actor(user), body.action, body.entry ?? null, 'reported by the client');
        return { ok: true };
      },
    },

    readVaultLog: {
      owner: ownersOnly,
      handle: async ({ query }) => ({ log: await vault.readLog(query.limit) }),
    },
  };
}

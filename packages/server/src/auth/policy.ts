import { FabricError, type Role } from '@fabric/protocol';

/**
 * Who may see and do what: every read and action of the control plane is
 * decided here, one function per resource kind, and nowhere else. Handlers
 * load the resource, ask, and either go on or throw what {@link enforce}
 * throws. Tested as a table in `policy.test.ts`.
 *
 * Roles: an `owner` sees and may act on everything. A `member` sees and acts
 * only on what is theirs (what they created or paired) plus devices shared
 * with them. Devices are never trusted to decide who sees what.
 */

/** The person asking, as their token and the users table say. */
export interface Viewer {
  /** The user id (a token's `sub`). */
  sub: string;
  role: Role;
}

/** What the policy needs of a session (approvals and stream events are the session's). */
export interface SessionSubject {
  createdBy: string;
}

/** What the policy needs of a device. */
export interface DeviceSubject {
  ownerId: string;
  /** Users the device is shared with. */
  sharedWith: readonly string[];
}

/** What the policy needs of a board card. */
export interface CardSubject {
  createdBy: string;
}

/**
 * - `read`: list, show, stream its events.
 * - `steer`: send input, cancel, resume, answer its approvals.
 */
export type SessionAction = 'read' | 'steer';

/**
 * - `read`: list and show it, see its fleet changes.
 * - `use`: have sessions placed on it (pinned or not).
 * - `manage`: rename, drain, set priority, revoke.
 * - `share`: share it with another person or stop sharing.
 */
export type DeviceAction = 'read' | 'use' | 'manage' | 'share';

/** - `read`: see it on the board; `edit`: change, move, delete, launch it. */
export type CardAction = 'read' | 'edit';

/**
 * Account-wide actions that belong to no single resource. `manage_vault`:
 * publish the vault's recipient set, rewrap every entry, read every
 * entry's ciphertext and the vault access log.
 */
export type AccountAction = 'invite' | 'read_ledger' | 'read_all_fuel' | 'manage_vault';

const isOwner = (v: Viewer): boolean => v.role === 'owner';

export const policy = {
  /** Sessions, and with them their events, stream and approvals: the creator, or an owner. */
  session(viewer: Viewer, session: SessionSubject, _action: SessionAction): boolean {
    return isOwner(viewer) || session.createdBy === viewer.sub;
  },

  /**
   * Devices: an owner does anything. A member reads and uses the devices they
   * paired or that are shared with them, manages (rename, drain, priority,
   * revoke) only the ones they paired, and shares none: sharing is an owner's.
   */
  device(viewer: Viewer, device: DeviceSubject, action: DeviceAction): boolean {
    if (isOwner(viewer)) return true;
    const mine = device.ownerId === viewer.sub;
    if (action === 'read' || action === 'use') return mine || device.sharedWith.includes(viewer.sub);
    if (action === 'manage') return mine;
    return false;
  },

  /** Board cards: the creator, or an owner. */
  card(viewer: Viewer, card: CardSubject, _action: CardAction): boolean {
    return isOwner(viewer) || card.createdBy === viewer.sub;
  },

  /** Invites, device ledgers, the whole fleet's fuel and the vault's administration: owners only. */
  account(viewer: Viewer, _action: AccountAction): boolean {
    return isOwner(viewer);
  },

  /**
   * May a session requested by `requester` be placed on `device`? This is
   * stricter than `device(…, 'use')` for owners: their prompts and
   * credentials go to devices that owners paired, or that were shared with
   * them, unless they pin a member's device by name themselves. A member's
   * device thus never receives another person's session unless its pairer
   * or an owner shared it with that person.
   *
   * `deviceOwnerRole` is the role of the account that paired the device.
   */
  placement(requester: Viewer, device: DeviceSubject & { deviceOwnerRole: Role | null }, pinned: boolean): boolean {
    if (device.ownerId === requester.sub || device.sharedWith.includes(requester.sub)) return true;
    if (!isOwner(requester)) return false;
    return pinned || device.deviceOwnerRole === 'owner';
  },
};

/**
 * Throw unless allowed. A resource the viewer may not even read answers as
 * if it did not exist (`notFound`), so ids and names of other people's
 * things are not confirmed; one they may read but not change answers
 * `forbidden`.
 */
export function enforce(allowed: boolean, canRead: boolean, notFound: FabricError, what: string): void {
  if (allowed) return;
  if (!canRead) throw notFound;
  throw new FabricError('forbidden', `you may not ${what}`);
}

import { describe, expect, it } from 'vitest';
import { policy, type CardAction, type DeviceAction, type SessionAction, type Viewer } from './policy.js';

const ada: Viewer = { sub: 'usr_ada', role: 'owner' };
const eve: Viewer = { sub: 'usr_eve', role: 'owner' };
const bob: Viewer = { sub: 'usr_bob', role: 'member' };
const carol: Viewer = { sub: 'usr_carol', role: 'member' };

describe('the policy, as a table', () => {
  // viewer × whose session × action → allowed
  const sessions: [Viewer, string, SessionAction, boolean][] = [
    [ada, 'usr_ada', 'read', true],
    [ada, 'usr_ada', 'steer', true],
    [ada, 'usr_bob', 'read', true],
    [ada, 'usr_bob', 'steer', true],
    [bob, 'usr_bob', 'read', true],
    [bob, 'usr_bob', 'steer', true],
    [bob, 'usr_ada', 'read', false],
    [bob, 'usr_ada', 'steer', false],
    [bob, 'usr_carol', 'read', false],
    [bob, 'usr_carol', 'steer', false],
  ];
  it.each(sessions)('session: %o on a session of %s may %s → %s', (viewer, createdBy, action, allowed) => {
    expect(policy.session(viewer, { createdBy }, action)).toBe(allowed);
  });

  // viewer × device (paired by, shared with) × action → allowed
  const devices: [Viewer, string, string[], DeviceAction, boolean][] = [
    [ada, 'usr_bob', [], 'read', true],
    [ada, 'usr_bob', [], 'use', true],
    [ada, 'usr_bob', [], 'manage', true],
    [ada, 'usr_bob', [], 'share', true],
    [bob, 'usr_bob', [], 'read', true],
    [bob, 'usr_bob', [], 'use', true],
    [bob, 'usr_bob', [], 'manage', true],
    [bob, 'usr_bob', [], 'share', false],
    [bob, 'usr_ada', [], 'read', false],
    [bob, 'usr_ada', [], 'use', false],
    [bob, 'usr_ada', [], 'manage', false],
    [bob, 'usr_ada', [], 'share', false],
    [bob, 'usr_ada', ['usr_bob'], 'read', true],
    [bob, 'usr_ada', ['usr_bob'], 'use', true],
    [bob, 'usr_ada', ['usr_bob'], 'manage', false],
    [bob, 'usr_ada', ['usr_bob'], 'share', false],
    [carol, 'usr_ada', ['usr_bob'], 'read', false],
    [carol, 'usr_ada', ['usr_bob'], 'use', false],
  ];
  it.each(devices)(
    'device: %o on a device of %s shared with %o may %s → %s',
    (viewer, ownerId, sharedWith, action, allowed) => {
      expect(policy.device(viewer, { ownerId, sharedWith }, action)).toBe(allowed);
    },
  );

  const cards: [Viewer, string, CardAction, boolean][] = [
    [ada, 'usr_bob', 'read', true],
    [ada, 'usr_bob', 'edit', true],
    [bob, 'usr_bob', 'read', true],
    [bob, 'usr_bob', 'edit', true],
    [bob, 'usr_ada', 'read', false],
    [bob, 'usr_ada', 'edit', false],
  ];
  it.each(cards)('card: %o on a card of %s may %s → %s', (viewer, createdBy, action, allowed) => {
    expect(policy.card(viewer, { createdBy }, action)).toBe(allowed);
  });

  it("keeps invites, device ledgers and the whole fleet's fuel to owners", () => {
    for (const action of ['invite', 'read_ledger', 'read_all_fuel'] as const) {
      expect(policy.account(ada, action)).toBe(true);
      expect(policy.account(bob, action)).toBe(false);
    }
  });

  it("keeps the vault's administration (recipient sets, rewraps, every ciphertext, the access log) to owners", () => {
    expect(policy.account(ada, 'manage_vault')).toBe(true);
    expect(policy.account(bob, 'manage_vault')).toBe(false);
  });

  // requester × device (paired by, that account's role, shared with) × pinned → may be placed there
  const placements: [Viewer, string, 'owner' | 'member', string[], boolean, boolean][] = [
    [ada, 'usr_ada', 'owner', [], false, true],
    [ada, 'usr_eve', 'owner', [], false, true], // another owner's device: owners trust each other
    [ada, 'usr_bob', 'member', [], false, false], // a member's device never gets an owner's unpinned session
    [ada, 'usr_bob', 'member', [], true, true], // unless the owner pins it by name
    [ada, 'usr_bob', 'member', ['usr_ada'], false, true], // or it was shared with them
    [bob, 'usr_bob', 'member', [], false, true],
    [bob, 'usr_ada', 'owner', [], false, false],
    [bob, 'usr_ada', 'owner', [], true, false], // a pin does not widen a member's reach
    [bob, 'usr_ada', 'owner', ['usr_bob'], false, true],
    [bob, 'usr_carol', 'member', [], true, false],
    [eve, 'usr_ada', 'owner', [], false, true],
  ];
  it.each(placements)(
    'placement: a session of %o on a device of %s (%s) shared with %o, pinned %s → %s',
    (requester, ownerId, deviceOwnerRole, sharedWith, pinned, allowed) => {
      expect(policy.placement(requester, { ownerId, deviceOwnerRole, sharedWith }, pinned)).toBe(allowed);
    },
  );
});

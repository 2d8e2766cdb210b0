import { describe, expect, it } from 'vitest';
import { mayOnEntry, type VaultAction, type VaultPerson } from './access.js';

const actions: VaultAction[] = ['list', 'read', 'use', 'write', 'delete', 'share'];
const owner: VaultPerson = { id: 'usr_owner', role: 'owner' };
const creator: VaultPerson = { id: 'usr_creator', role: 'member' };
const user: VaultPerson = { id: 'usr_user', role: 'member' };
const other: VaultPerson = { id: 'usr_other', role: 'member' };

describe('who may do what with a vault entry', () => {
  // person × their relation to the entry → the actions they may take
  const table: [string, VaultPerson, { userId: string; write: boolean }[], VaultAction[]][] = [
    ['an owner who did not create it', owner, [], actions],
    ['its creator, a member', creator, [], actions],
    ['a member it is shared with', user, [{ userId: 'usr_user', write: false }], ['list', 'read', 'use']],
    [
      'a member it is shared with for writing',
      user,
      [{ userId: 'usr_user', write: true }],
      ['list', 'read', 'use', 'write'],
    ],
    ['a member it is shared with someone else', other, [{ userId: 'usr_user', write: true }], []],
    ['a member it is not shared with', other, [], []],
  ];
  for (const [who, person, grants, allowed] of table) {
    it(`lets ${who} ${allowed.length === 0 ? 'do nothing' : allowed.join(', ')}`, () => {
      const entry = { creatorId: creator.id, grants };
      expect(actions.filter((a) => mayOnEntry(person, entry, a))).toEqual(allowed);
    });
  }

  it('gives an entry with no known creator to the owners alone', () => {
    expect(actions.filter((a) => mayOnEntry(creator, { creatorId: null, grants: [] }, a))).toEqual([]);
    expect(actions.filter((a) => mayOnEntry(owner, { creatorId: null, grants: [] }, a))).toEqual(actions);
  });
});

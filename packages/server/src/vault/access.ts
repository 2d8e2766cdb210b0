/**
 * Who may do what with a vault entry: one pure function, tested as a table
 * (role × entry creator × grant × action). The server cannot read entries,
 * but it decides which ciphertext it hands out and which writes it keeps.
 *
 * - An owner may do everything, and a creator everything with their own entry.
 * - A person the entry is shared with may see it, fetch its ciphertext and
 *   use it in a session; with a write grant, also overwrite it.
 * - Deleting and changing the access list stay with the creator and owners.
 * - Anyone signed in may create an entry under a name that does not exist yet.
 */
export type VaultAction = 'list' | 'read' | 'use' | 'write' | 'delete' | 'share';

export interface VaultPerson {
  id: string;
  role: 'owner' | 'member';
}

/** What the policy needs to know about an existing entry. */
export interface EntryAccess {
  /** Null only for entries older than access lists whose writer was not a person. */
  creatorId: string | null;
  grants: readonly { userId: string; write: boolean }[];
}

export function mayOnEntry(person: VaultPerson, entry: EntryAccess, action: VaultAction): boolean {
  if (person.role === 'owner' || (entry.creatorId !== null && entry.creatorId === person.id)) return true;
  const grant = entry.grants.find((g) => g.userId === person.id);
  if (!grant) return false;
  switch (action) {
    case 'list':
    case 'read':
    case 'use':
      return true;
    case 'write':
      return grant.write;
    case 'delete':
    case 'share':
      return false;
  }
}

import { open } from 'node:fs/promises';
import si from 'systeminformation';
import type { UsersAnswer } from '@fabric/protocol';

type Account = UsersAnswer['accounts'][number];
type Session = UsersAnswer['sessions'][number];

/** Larger than any sane passwd file; past it the rest is not read. */
const MAX_PASSWD_BYTES = 8 * 1024 * 1024;
const MAX_DESCRIPTION = 256;

/** "Shells" that refuse an interactive login (`sync` runs sync(1) and exits). */
const NO_LOGIN = /(^|\/)(nologin|false|sync)$/;

/**
 * Parse /etc/passwd text: `name:password:uid:gid:gecos:home:shell`, one
 * account a line. Comments, NIS `+`/`-` lines and lines that do not have
 * exactly seven fields with numeric ids are skipped, never guessed at.
 */
export function parsePasswd(text: string): Account[] {
  const accounts: Account[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const f = line.replace(/\r$/, '').split(':');
    if (f.length !== 7) continue;
    const [name, , uid, gid, gecos, home, shell] = f as [string, string, string, string, string, string, string];
    if (name.length === 0 || !/^\d{1,10}$/.test(uid) || !/^\d{1,10}$/.test(gid)) continue;
    accounts.push({
      name,
      uid: Number(uid),
      gid: Number(gid),
      description: gecos.slice(0, MAX_DESCRIPTION),
      home,
      shell,
      canLogin: !NO_LOGIN.test(shell),
    });
  }
  return accounts;
}

/** At most `max` bytes of a file as UTF-8; null when it does not exist. */
async function readCapped(path: string, max: number): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await handle.read(buf, 0, max, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Where the `users` query reads; replaceable in tests. */
export interface UsersSources {
  passwdPath?: string;
  /** Logged-in sessions (systeminformation runs `who`/`w` with fixed arguments). */
  sessions?: () => Promise<si.Systeminformation.UserData[]>;
}

/** The `users` query: accounts from /etc/passwd and who is logged in. */
export async function queryUsers(sources: UsersSources = {}): Promise<UsersAnswer> {
  const text = await readCapped(sources.passwdPath ?? '/etc/passwd', MAX_PASSWD_BYTES);
  const logged = await (sources.sessions ?? (() => si.users()))().catch(() => []);
  const sessions: Session[] = logged.map((u) => ({
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- who output can lack any column */
    user: u.user ?? '',
    tty: u.tty ?? '',
    since: [u.date, u.time].filter((s) => s && s.length > 0).join(' '),
    from: u.ip ?? '',
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  }));
  return { query: 'users', accounts: text === null ? [] : parsePasswd(text), sessions };
}

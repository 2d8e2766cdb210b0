import { FabricError } from '@fabric/protocol';
import { Option } from 'commander';

/** Where commands print; tests and the CLI entry point pass real streams. */
export interface Out {
  stdout(s: string): void;
  stderr(s: string): void;
}

/** Commander collector for repeatable `--label k=v`. */
export function collectLabel(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new FabricError('bad_request', `--label wants key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** `a,b,c` → ['a','b','c'], dropping blanks. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * A commander parser for a duration flag: `90s`, `10m`, `2h` (a whole
 * number and a unit), between 1 s and 7 days; the value is milliseconds.
 */
export function durationFlag(flag: string): (value: string) => number {
  return (value) => {
    const m = /^(\d{1,7})(s|m|h)$/.exec(value.trim());
    const ms = m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : NaN;
    if (!(ms >= 1000 && ms <= 7 * 24 * UNIT_MS.h)) {
      throw new FabricError(
        'bad_request',
        `${flag} wants a duration such as 90s, 10m or 2h (1s to 168h), got "${value}"`,
      );
    }
    return ms;
  };
}

/**
 * `--database <url>` (or `FABRIC_DATABASE_URL`): the control plane's store on
 * PostgreSQL; without it, the SQLite file in the data dir. The URL may hold a
 * password, so it is never printed back (see `storeLabel`).
 */
export function databaseOption(): Option {
  return new Option(
    '--database <url>',
    "the control plane's store on PostgreSQL (postgres://user@host:5432/db); default: fabric.db in the data dir",
  )
    .env('FABRIC_DATABASE_URL')
    .argParser((value: string) => {
      if (!/^postgres(ql)?:\/\/[^\s]+$/i.test(value))
        throw new FabricError('bad_request', '--database takes a PostgreSQL URL: postgres://user@host:5432/db');
      return value;
    });
}

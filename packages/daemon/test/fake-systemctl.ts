// A stand-in for a machine with systemd, for tests of the service tools: a
// probe dir that exists and a `systemctl` script that records every call and
// answers like the real one (the unit list it is given, success, or a failure
// for BROKEN_SERVICE).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemdOptions } from '../src/modules/system/systemd.js';

/** The unit the fake fails for, as the real one does for a unit whose control process errs. */
export const BROKEN_SERVICE = 'broken.service';
export const BROKEN_STDERR = 'Job for broken.service failed because the control process exited with error code.';

export interface FakeSystemctl {
  opts: SystemdOptions;
  /** Every call so far, oldest first, each as its argv. */
  calls(): string[][];
}

/** Install the fake in `dir`; `list-units` prints `listOutput`. */
export function installFakeSystemctl(dir: string, listOutput: string): FakeSystemctl {
  const probe = join(dir, 'run-systemd-system');
  mkdirSync(probe, { recursive: true });
  const argvFile = join(dir, 'systemctl-argv');
  const listFile = join(dir, 'list-units.txt');
  writeFileSync(listFile, listOutput);
  const script = join(dir, 'systemctl');
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      `{ for a in "$@"; do printf '%s\\t' "$a"; done; printf '\\n'; } >> '${argvFile}'`,
      `if [ "$1" = list-units ]; then cat '${listFile}'; exit 0; fi`,
      `for a in "$@"; do if [ "$a" = ${BROKEN_SERVICE} ]; then echo '${BROKEN_STDERR}' >&2; exit 1; fi; done`,
      'exit 0',
      '',
    ].join('\n'),
  );
  chmodSync(script, 0o755);
  return {
    opts: { probePath: probe, systemctl: script },
    calls: () =>
      existsSync(argvFile)
        ? readFileSync(argvFile, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => l.split('\t').slice(0, -1))
        : [],
  };
}

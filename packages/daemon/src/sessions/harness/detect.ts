import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { HarnessInfo, HarnessName } from '@fabric/protocol';

/** Absolute path of `bin` on PATH, or null. */
export function which(bin: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, bin);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

/**
 * Detect a CLI: found on PATH, then `<bin> --version` (5 s limit, no shell).
 * The first version-looking token of its output is the version; a CLI that
 * is present but will not say is reported with a null version.
 */
export async function detectCli(
  name: HarnessName,
  bin: string,
  versionArgs: string[] = ['--version'],
): Promise<HarnessInfo | null> {
  const path = which(bin);
  if (!path) return null;
  const output = await new Promise<string>((resolve) => {
    execFile(path, versionArgs, { timeout: 5000, encoding: 'utf8' }, (_err, stdout, stderr) =>
      resolve(`${stdout}\n${stderr}`),
    );
  });
  const version = /\d+\.\d+(?:\.\d+)?(?:[-+][\w.]+)?/.exec(output)?.[0] ?? null;
  return { name, version };
}

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { FabricError } from '@fabric/protocol';
import { writePrivateJson } from '@fabric/node';

export const DEFAULT_PORT = 7300;
export const DEFAULT_SERVER = `http://127.0.0.1:${DEFAULT_PORT}`;

/** Options every command accepts. */
export interface GlobalOptions {
  data?: string;
  server?: string;
}

/** `--data`, else `OPTIMAL_DATA`, else `~/.optimal`. */
export function dataDir(opts: GlobalOptions): string {
  return resolve(opts.data ?? process.env.OPTIMAL_DATA ?? join(homedir(), '.optimal'));
}

/** The CLI's sign-in, stored as `cli.json` (0600) in the data directory. */
export const cliFileSchema = z.object({
  server: z.string(),
  token: z.string(),
  user: z.object({ id: z.string(), name: z.string(), role: z.enum(['owner', 'member']) }),
  expiresAt: z.number(),
});
export type CliFile = z.infer<typeof cliFileSchema>;

export function readCliFile(dir: string): CliFile | null {
  const file = join(dir, 'cli.json');
  if (!existsSync(file)) return null;
  const parsed = cliFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data : null;
}

export function writeCliFile(dir: string, value: CliFile): void {
  writePrivateJson(join(dir, 'cli.json'), value);
}

/** Where a running control plane in this data directory says it listens (`server.json`). */
export function readServerFile(dir: string): { url: string; pid: number } | null {
  const file = join(dir, 'server.json');
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { url: string; pid: number };
  } catch {
    return null;
  }
}

/** `--server`, else `OPTIMAL_SERVER`, else the signed-in server, else the local default. */
export function serverUrl(opts: GlobalOptions, cli: CliFile | null = readCliFile(dataDir(opts))): string {
  const url =
    opts.server ?? process.env.OPTIMAL_SERVER ?? cli?.server ?? readServerFile(dataDir(opts))?.url ?? DEFAULT_SERVER;
  if (!/^https?:\/\/[^\s/]+/.test(url))
    throw new FabricError('bad_request', `--server must be an http(s) url, not "${url}"`);
  return url.replace(/\/+$/, '');
}

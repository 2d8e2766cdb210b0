import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FabricError, backupManifestSchema, type BackupManifest } from '@fabric/protocol';
import { MANIFEST } from './layout.js';

/** SHA-256 of a file's bytes (hex), streamed: database copies can be large. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A backup that cannot be trusted: `conflict`, naming the backup and what is wrong. */
export function damaged(backupId: string, why: string): FabricError {
  return new FabricError('conflict', `backup ${backupId} is damaged (${why}): pick another with backup_list`);
}

/**
 * The manifest of the backup in `dir`, parsed. Throws `damaged` when it is
 * missing (the backup never finished), unreadable, malformed, names another
 * backup, or lists a file under a part it did not capture.
 */
export function readManifest(dir: string, backupId: string): BackupManifest {
  const checked = checkManifest(dir, backupId);
  if (typeof checked === 'string') throw damaged(backupId, checked);
  return checked;
}

/** The manifest, or why it cannot be trusted (see `readManifest`). */
export function checkManifest(dir: string, backupId: string): BackupManifest | string {
  let text: string;
  try {
    text = readFileSync(join(dir, MANIFEST), 'utf8');
  } catch {
    return 'no manifest';
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'manifest is not JSON';
  }
  const parsed = backupManifestSchema.safeParse(json);
  if (!parsed.success) return 'malformed manifest';
  const manifest = parsed.data;
  if (manifest.backupId !== backupId) return 'manifest names another backup';
  for (const file of manifest.files) {
    if (!manifest.parts.includes(partOf(file.path))) return `${file.path} is outside the parts captured`;
  }
  if (new Set(manifest.files.map((f) => f.path)).size !== manifest.files.length) return 'a file is listed twice';
  return manifest;
}

/** Which part a (schema-checked) backup file path belongs to. */
export function partOf(path: string): BackupManifest['parts'][number] {
  if (path === 'ledger.db') return 'ledger';
  if (path === 'agent.db') return 'agent';
  return 'memory';
}

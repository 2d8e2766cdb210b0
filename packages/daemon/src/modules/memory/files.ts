import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { formatMemoryFile, parseMemoryFile, type MemoryRecord } from './frontmatter.js';
import { words } from './text.js';

/** Larger files are reported, not read: nothing the daemon writes comes near it. */
export const MEMORY_FILE_MAX_BYTES = 16 * 1024 * 1024;

/** A memory file read back: its record, or why it could not be read. `file` is relative to the memory dir. */
export type MemoryFileEntry = { file: string; record: MemoryRecord } | { file: string; error: string };

/**
 * The ground truth of the device's memory: one markdown file per memory under
 * `dir` (the daemon's is `<dataDir>/memory/`), in a folder per month
 * (`2025-01/rotate-the-backup-keys-mem_….md`). The dir is 0700 and the files
 * 0600. Writes are atomic (a temp file in the same folder, then a rename), so
 * a reader sees the old file or the new one, never half of one. People may
 * add, edit or delete files; the index is rebuilt from whatever is there.
 */
export class MemoryFiles {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }

  /** Write a record as a new file; answers its path relative to the dir. */
  async write(record: MemoryRecord): Promise<string> {
    const file = fileNameFor(record);
    await writeAtomic(join(this.dir, file), formatMemoryFile(record));
    return file;
  }

  /** Read one file (relative path). Never throws for content; a missing file answers an error entry. */
  async read(file: string): Promise<MemoryFileEntry> {
    try {
      const path = join(this.dir, file);
      const info = await lstat(path);
      if (!info.isFile()) return { file, error: 'not a regular file' };
      if (info.size > MEMORY_FILE_MAX_BYTES) return { file, error: `larger than ${MEMORY_FILE_MAX_BYTES} bytes` };
      const parsed = parseMemoryFile(await readFile(path, 'utf8'));
      return parsed.ok ? { file, record: parsed.record } : { file, error: parsed.message };
    } catch (err) {
      return { file, error: `cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
    }
  }

  /**
   * Every `*.md` file under the dir, relative, sorted (so a rebuild is
   * deterministic). Dot-files (temp files) are skipped, and so are symlinks:
   * the memory is what lives in the dir, not what a link points to.
   */
  async list(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (folder: string): Promise<void> => {
      const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        const path = join(folder, e.name);
        if (e.isDirectory()) await walk(path);
        else if (e.isFile() && e.name.endsWith('.md')) out.push(relative(this.dir, path).split(sep).join('/'));
      }
    };
    await walk(this.dir);
    return out.sort();
  }
}

/** `YYYY-MM/<slug>-<id>.md`, the slug from the title or summary (ASCII words only, so any file system takes it). */
export function fileNameFor(record: Pick<MemoryRecord, 'id' | 'created' | 'summary' | 'title'>): string {
  const month = new Date(record.created).toISOString().slice(0, 7);
  let slug = '';
  for (const w of words(record.title ?? record.summary)) {
    const ascii = w.replace(/[^a-z0-9]/g, '');
    if (ascii === '') continue;
    if (slug.length + ascii.length + 1 > 48) break;
    slug = slug === '' ? ascii : `${slug}-${ascii}`;
  }
  return `${month}/${slug === '' ? '' : `${slug}-`}${record.id}.md`;
}

/** Write `text` to `path` through a 0600 temp file in the same folder, flushed, then renamed over. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(path), `.tmp-${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

import { execFile } from 'node:child_process';

/** What a finished command printed and how it exited. */
export interface CommandResult {
  /** Exit code; null when a signal (or the timeout) ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `file` with `args` directly (no shell: an argument is never parsed as
 * syntax). Resolves for any exit code; rejects only when the command could
 * not be started (the error's `code` is e.g. `ENOENT`).
 */
export function runCommand(
  file: string,
  args: readonly string[],
  opts: { timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: opts.timeoutMs, maxBuffer: 16 * 1024 * 1024, env: opts.env ?? process.env, windowsHide: true },
      (err, stdout, stderr) => {
        if (err && typeof err.code === 'string') {
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an ExecFileException is an Error
          reject(err);
          return;
        }
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** The last `lines` non-empty lines of `text`, at most `maxChars` long. */
export function tail(text: string, lines = 5, maxChars = 2000): string {
  const kept = text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0)
    .slice(-lines)
    .join('\n');
  return kept.length > maxChars ? kept.slice(-maxChars) : kept;
}

/**
 * Text from data (device names, prompts, card titles, labels) as the cockpit
 * shows it. Preact already escapes HTML, but characters that are not markup
 * can still mislead: a right-to-left override (U+202E) makes "gnp.exe" read
 * as "exe.png", zero-width and control characters hide or fake text. They
 * become visible escapes (`\u202e`, `\x1b`, `\n` in a one-line field), the
 * same as `optimal` prints them. Restated here rather than shared so the
 * first-load bundle stays free of the CLI and of zod.
 */
// eslint-disable-next-line no-control-regex -- control characters are what these find and escape
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const UNSAFE_BUT_LINES =
  // eslint-disable-next-line no-control-regex -- the same, less tab and newline
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(ch: string): string {
  const code = ch.charCodeAt(0);
  return (
    SHORT[ch] ??
    (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`)
  );
}

/** A one-line field (a name, a title, a label): every control or invisible formatting character escaped. */
export function visible(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

/** A multi-line field (a prompt shown as a block): newlines and tabs kept, the rest escaped. */
export function visibleBlock(s: string): string {
  return s.replace(UNSAFE_BUT_LINES, escapeChar);
}

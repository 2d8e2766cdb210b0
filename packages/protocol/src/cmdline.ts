/**
 * Split a command line into argv the way a POSIX shell tokenises words:
 * whitespace separates, single quotes are literal, double quotes allow `\"`
 * and `\\`, a backslash outside quotes escapes the next character. Nothing is
 * expanded (no globs, variables, pipes or redirections): `|` is just a word.
 * Throws `Error('unterminated quote')` on an open quote.
 */
export function splitCommandLine(line: string): string[] {
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote === "'") {
      if (ch === "'") quote = null;
      else word += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i]!;
      else word += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[++i]!;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error('unterminated quote');
  if (inWord) argv.push(word);
  return argv;
}

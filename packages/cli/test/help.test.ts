import { describe, expect, it } from 'vitest';
import { main } from '../src/main.js';

/** `optimal ARGS --help`, in this process (help needs no server). */
async function help(args: string[]): Promise<string> {
  let text = '';
  const code = await main(['node', 'optimal', ...args, '--help'], {
    stdout: (s) => {
      text += s;
    },
    stderr: (s) => {
      text += s;
    },
  });
  expect(code, args.join(' ')).toBe(0);
  return text;
}

/** The sub-commands a help text lists, each with its description ('' when it has none). */
function listed(text: string): { name: string; description: string }[] {
  const at = text.indexOf('\nCommands:\n');
  if (at < 0) return [];
  const rows: { name: string; description: string }[] = [];
  for (const line of text.slice(at + '\nCommands:\n'.length).split('\n')) {
    if (!line.startsWith('  ') || line.startsWith('   ')) {
      if (line.trim() === '') break;
      continue;
    }
    const [term = '', ...rest] = line.trim().split(/\s{2,}/);
    rows.push({ name: term.split(' ')[0]!, description: rest.join(' ') });
  }
  return rows;
}

describe('the help of every command', () => {
  it('describes every sub-command and mentions --data', async () => {
    const missing: string[] = [];
    const noData: string[] = [];
    const seen: string[] = [];
    const walk = async (path: string[]) => {
      const text = await help(path);
      seen.push(path.join(' '));
      if (path.length > 0 && !text.includes('--data <dir>')) noData.push(path.join(' '));
      for (const sub of listed(text)) {
        if (sub.name === 'help') continue;
        if (sub.description === '') missing.push([...path, sub.name].join(' '));
        await walk([...path, sub.name]);
      }
    };
    await walk([]);
    expect(seen).toEqual(
      expect.arrayContaining([
        'up',
        'session send',
        'vault revoke',
        'agent incident create',
        'agent backup ls',
        'ledger verify',
      ]),
    );
    expect(missing).toEqual([]);
    expect(noData).toEqual([]);
  }, 120_000);
});

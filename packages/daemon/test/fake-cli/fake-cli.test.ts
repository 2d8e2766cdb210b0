import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { installFakeCli, type FakeCli } from './index.js';

let fake: FakeCli | null = null;
afterEach(() => fake?.remove());

describe('the fake CLI', () => {
  it('answers --version, prints its scenario, records argv and stdin', () => {
    fake = installFakeCli(
      'claude',
      [{ print: '{"type":"system"}' }, { read: 1 }, { print: 'done' }, { exit: 3 }],
      '2.1.0',
    );
    const env = { ...process.env, PATH: fake.path };
    expect(execFileSync('claude', ['--version'], { env, encoding: 'utf8' }).trim()).toBe('2.1.0');
    let out = '';
    try {
      execFileSync('claude', ['-p', 'hi'], { env, input: 'a line\n', encoding: 'utf8' });
    } catch (err) {
      out = (err as { stdout: string; status: number }).stdout;
      expect((err as { status: number }).status).toBe(3);
    }
    expect(out).toBe('{"type":"system"}\ndone\n');
    expect(fake.calls()).toMatchObject([{ argv: ['-p', 'hi'], stdin: ['a line'], exitCode: 3 }]);
  });
});

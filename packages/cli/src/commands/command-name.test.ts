import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { optimalCommand } from './runtime.js';

const root = mkdtempSync(join(tmpdir(), 'fabric-command-name-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function binDir(...parts: string[]): string {
  const dir = join(root, ...parts);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'optimal'), '#!/bin/sh\n');
  chmodSync(join(dir, 'optimal'), 0o755);
  return dir;
}

describe('the command the banner tells a person to run', () => {
  it('is optimal when it is on their PATH', () => {
    expect(optimalCommand(`/nonexistent:${binDir('linked', 'bin')}`)).toBe('optimal');
  });

  it("is npx optimal when only npm's node_modules/.bin has it (npm start adds that to the daemon's PATH, not to their shell)", () => {
    expect(optimalCommand(`${binDir('repo', 'node_modules', '.bin')}:/nonexistent`)).toBe('npx optimal');
    expect(optimalCommand('')).toBe('npx optimal');
  });
});

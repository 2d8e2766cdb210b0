import { describe, expect, it } from 'vitest';
import { isFabricError, sessionStartPayloadSchema, type SessionStartPayload } from '@fabric/protocol';
import { DEFAULT_ALLOWLIST, shellHarness } from './adapter.js';

const start = (prompt: string): SessionStartPayload =>
  sessionStartPayloadSchema.parse({ sessionId: 'ses_shelltest', harness: 'shell', prompt, cwd: null, labels: {} });
const ctx = { allowlist: DEFAULT_ALLOWLIST, baseEnv: {}, credentials: {}, mcp: null };

function refusal(prompt: string): string | null {
  try {
    shellHarness.plan(start(prompt), ctx);
    return null;
  } catch (err) {
    return isFabricError(err) ? err.code : 'thrown';
  }
}

describe('the default shell allowlist', () => {
  it.each([
    ["git -c 'alias.x=!id' x", 'a git alias runs any command'],
    ['git -c core.pager=id log', 'a git pager runs any command'],
    ['cat /home/me/.optimal/agent.token', "cat prints the owner's token"],
    ['head -c 100 /home/me/.optimal/vault.key', 'head prints the vault key'],
    ['tail /home/me/.optimal/cli.json', 'tail prints the CLI credentials'],
    ['wc --files0-from=/home/me/.optimal/device.json', 'wc echoes a file in its errors'],
    ['date -f /home/me/.optimal/agent.token', 'date echoes a file in its errors'],
    ['find / -exec id ;', 'find runs any command'],
    ['env id', 'env runs any command'],
    ['tar -cf /dev/null /etc --checkpoint=1 --checkpoint-action=exec=id', 'tar runs any command'],
  ])('refuses %s with command_not_allowed (%s)', (prompt) => {
    expect(refusal(prompt)).toBe('command_not_allowed');
  });

  it('still runs the harmless programs it keeps', () => {
    for (const prompt of ['echo hello', 'ls -la', 'pwd', 'uname -a', 'sleep 1', 'whoami', 'true', 'false']) {
      expect(shellHarness.plan(start(prompt), ctx).command).toBe(prompt.split(' ')[0]);
    }
  });

  it('lets an owner add git back with --allow, giving sessions its power', () => {
    const plan = shellHarness.plan(start('git status'), { ...ctx, allowlist: [...DEFAULT_ALLOWLIST, 'git'] });
    expect(plan).toMatchObject({ command: 'git', args: ['status'] });
  });
});

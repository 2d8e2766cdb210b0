import { describe, expect, it } from 'vitest';
import { visible, visibleBlock } from './text.js';
import { layoutTopo } from './topo.js';

describe('text from data is shown with its hidden characters made visible', () => {
  it('escapes a right-to-left override that would make "gnp.exe" read as "exe.png"', () => {
    expect(visible('photo\u202egnp.exe')).toBe('photo\\u202egnp.exe');
  });

  it('escapes terminal controls, NUL, DEL, C1, zero-width characters and newlines in a name', () => {
    expect(visible('pi\u001b[31m\u0000\u007f\u009b\u200b\u2066\nx')).toBe(
      'pi\\x1b[31m\\x00\\x7f\\x9b\\u200b\\u2066\\nx',
    );
  });

  it('keeps newlines and tabs in a prompt block but escapes the rest', () => {
    expect(visibleBlock('line 1\n\tline 2\u202e\u001b')).toBe('line 1\n\tline 2\\u202e\\x1b');
  });

  it('leaves ordinary text alone', () => {
    expect(visible('Ada’s Pi 🍓 café 日本 עברית')).toBe('Ada’s Pi 🍓 café 日本 עברית');
  });
});

describe('TOPO names planets as they are shown', () => {
  it('labels a device whose name holds a bidi override with the override escaped', () => {
    const d = {
      id: 'dev_aaaaaaaaaa',
      name: 'pi\u202egnp.exe',
      online: true,
      revoked: false,
      createdAt: 1,
      lastSeenAt: 1,
      runningSessions: 0,
      draining: false,
      priority: 0,
      vaultRecipient: null,
      capabilities: null,
    };
    expect(layoutTopo([d], [], 800, 600).planets[0]?.name).toBe('pi\\u202egnp.exe');
  });
});

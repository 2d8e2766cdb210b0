import type { HarnessName } from '@fabric/protocol';
import { claudeHarness } from './claude.js';
import { codexHarness } from './codex.js';
import { kimiHarness } from './kimi.js';
import { opencodeHarness } from './opencode.js';
import { openclawHarness } from './openclaw.js';
import { shellHarness } from './shell.js';
import type { HarnessAdapter } from './types.js';

/** Every adapter this daemon knows, by name; `detect` decides which a device reports. */
export function defaultAdapters(): Map<HarnessName, HarnessAdapter> {
  return new Map<HarnessName, HarnessAdapter>(
    [shellHarness, claudeHarness, codexHarness, opencodeHarness, kimiHarness, openclawHarness].map((a) => [a.name, a]),
  );
}

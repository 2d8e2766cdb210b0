import type { HarnessName } from '@fabric/protocol';
import { claudeHarness } from './claude/adapter.js';
import { codexHarness } from './codex/adapter.js';
import { kimiHarness } from './kimi/adapter.js';
import { opencodeHarness } from './opencode/adapter.js';
import { openclawHarness } from './openclaw/adapter.js';
import { shellHarness } from './shell/adapter.js';
import type { HarnessAdapter } from './types.js';

/** Every adapter this daemon knows, by name; `detect` decides which a device reports. */
export function defaultAdapters(): Map<HarnessName, HarnessAdapter> {
  return new Map<HarnessName, HarnessAdapter>(
    [shellHarness, claudeHarness, codexHarness, opencodeHarness, kimiHarness, openclawHarness].map((a) => [a.name, a]),
  );
}

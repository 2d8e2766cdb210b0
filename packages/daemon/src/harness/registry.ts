import type { HarnessName } from '@fabric/protocol';
import { shellHarness } from './shell.js';
import type { HarnessAdapter } from './types.js';

/** Every adapter this daemon knows, by name. Agent CLIs join in the harness issue. */
export function defaultAdapters(): Map<HarnessName, HarnessAdapter> {
  return new Map<HarnessName, HarnessAdapter>([[shellHarness.name, shellHarness]]);
}

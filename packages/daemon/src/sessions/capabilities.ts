import { arch, cpus, freemem, hostname, loadavg, platform, totalmem } from 'node:os';
import type { CapabilityDigest, HarnessInfo, HarnessName, Labels } from '@fabric/protocol';
import type { HarnessAdapter } from './harness/types.js';
import { DAEMON_VERSION } from '../version.js';

const DETECT_EVERY_MS = 5 * 60 * 1000;

/**
 * Builds the capability digest for hello and heartbeats. Machine figures are
 * read fresh each time (cheap); harness detection spawns `--version`
 * processes, so it is cached for five minutes.
 */
export class Capabilities {
  private harnesses: HarnessInfo[] = [];
  private detectedAt = -Infinity;

  constructor(
    private readonly adapters: ReadonlyMap<HarnessName, HarnessAdapter>,
    private readonly labels: Labels,
    private readonly allowlist: readonly string[],
    private readonly running: () => number,
    /** Whether sessions here run in a sandbox (`bwrap`) or unisolated (`none`). */
    private readonly isolation: CapabilityDigest['isolation'] = 'none',
  ) {}

  async digest(): Promise<CapabilityDigest> {
    if (Date.now() - this.detectedAt > DETECT_EVERY_MS) {
      const found = await Promise.all([...this.adapters.values()].map((a) => a.detect().catch(() => null)));
      this.harnesses = found.filter((h): h is HarnessInfo => h !== null);
      this.detectedAt = Date.now();
    }
    const [l1 = 0, l5 = 0, l15 = 0] = loadavg();
    return {
      hostname: hostname().slice(0, 255),
      platform: platform(),
      arch: arch(),
      cpus: cpus().length,
      ramTotal: totalmem(),
      ramFree: freemem(),
      load: [l1, l5, l15],
      harnesses: this.harnesses,
      labels: this.labels,
      allowlist: [...this.allowlist],
      daemonVersion: DAEMON_VERSION,
      runningSessions: this.running(),
      isolation: this.isolation,
    };
  }
}

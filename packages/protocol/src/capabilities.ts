import { z } from 'zod';
import { isPrintableName, safeLabel } from './text.js';

export const harnessNames = ['shell', 'claude', 'codex', 'opencode', 'kimi', 'openclaw'] as const;
export const harnessNameSchema = z.enum(harnessNames);
export type HarnessName = z.infer<typeof harnessNameSchema>;

export const harnessInfoSchema = z.object({
  name: harnessNameSchema,
  /** Version string as printed by the CLI, or null when it could not be read. */
  version: safeLabel(128).nullable(),
});
export type HarnessInfo = z.infer<typeof harnessInfoSchema>;

/** Label keys and values: short, no whitespace, so `k=v` round-trips on a command line. */
export const labelsSchema = z
  .record(
    z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
    z
      .string()
      .regex(/^[^\s=]{0,128}$/)
      .refine(isPrintableName, 'must not contain control characters'),
  )
  .refine((labels) => Object.keys(labels).length <= 64, 'at most 64 labels');
export type Labels = z.infer<typeof labelsSchema>;

/** Most RAM a device may report (2^50 bytes, one pebibyte). */
export const MAX_RAM_BYTES = 2 ** 50;
const loadSchema = z.number().min(0).max(10_000);

/**
 * What a device can do right now; sent in `hello` and every heartbeat.
 * Memory is in bytes, load is the 1/5/15-minute load average.
 */
export const capabilityDigestSchema = z
  .object({
    hostname: safeLabel(255),
    platform: safeLabel(32),
    arch: safeLabel(32),
    cpus: z.number().int().min(0).max(4096),
    ramTotal: z.number().min(0).max(MAX_RAM_BYTES),
    ramFree: z.number().min(0).max(MAX_RAM_BYTES),
    load: z.tuple([loadSchema, loadSchema, loadSchema]),
    harnesses: z.array(harnessInfoSchema).max(32),
    labels: labelsSchema,
    /** Commands (argv[0]) the `shell` harness may run on this device. */
    allowlist: z.array(safeLabel(128, 1)).max(512),
    daemonVersion: safeLabel(64),
    runningSessions: z.number().int().min(0).max(100_000),
    /**
     * How this device isolates sessions: `bwrap` (each in its own bubblewrap
     * sandbox) or `none` (bubblewrap missing or unusable; only the owner's
     * sessions run, unisolated). Older daemons omit it: treated as `none`.
     */
    isolation: z.enum(['bwrap', 'none']).default('none'),
  })
  .refine((d) => d.ramFree <= d.ramTotal, { error: 'ramFree must not exceed ramTotal', path: ['ramFree'] });
export type CapabilityDigest = z.infer<typeof capabilityDigestSchema>;

import { z } from 'zod';

export const harnessNames = ['shell', 'claude', 'codex', 'opencode', 'kimi', 'openclaw'] as const;
export const harnessNameSchema = z.enum(harnessNames);
export type HarnessName = z.infer<typeof harnessNameSchema>;

export const harnessInfoSchema = z.object({
  name: harnessNameSchema,
  /** Version string as printed by the CLI, or null when it could not be read. */
  version: z.string().nullable(),
});
export type HarnessInfo = z.infer<typeof harnessInfoSchema>;

/** Label keys and values: short, no whitespace, so `k=v` round-trips on a command line. */
export const labelsSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  z.string().regex(/^[^\s=]{0,128}$/),
);
export type Labels = z.infer<typeof labelsSchema>;

/**
 * What a device can do right now; sent in `hello` and every heartbeat.
 * Memory is in bytes, load is the 1/5/15-minute load average.
 */
export const capabilityDigestSchema = z.object({
  hostname: z.string().max(255),
  platform: z.string().max(32),
  arch: z.string().max(32),
  cpus: z.number().int().nonnegative(),
  ramTotal: z.number().nonnegative(),
  ramFree: z.number().nonnegative(),
  load: z.tuple([z.number(), z.number(), z.number()]),
  harnesses: z.array(harnessInfoSchema).max(32),
  labels: labelsSchema,
  /** Commands (argv[0]) the `shell` harness may run on this device. */
  allowlist: z.array(z.string().min(1).max(128)).max(512),
  daemonVersion: z.string().max(64),
  runningSessions: z.number().int().nonnegative(),
  /**
   * How this device isolates sessions: `bwrap` (each in its own bubblewrap
   * sandbox) or `none` (bubblewrap missing or unusable; only the owner's
   * sessions run, unisolated). Older daemons omit it: treated as `none`.
   */
  isolation: z.enum(['bwrap', 'none']).default('none'),
});
export type CapabilityDigest = z.infer<typeof capabilityDigestSchema>;

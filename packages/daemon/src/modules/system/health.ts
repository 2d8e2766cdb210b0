import os from 'node:os';
import si from 'systeminformation';
import type { SystemHealth } from '@fabric/protocol';

/** CPU time counters of every core, as `os.cpus()` gives them. */
export type CpuTimes = { times: { user: number; nice: number; sys: number; idle: number; irq: number } }[];

interface Sample {
  at: number;
  busy: number;
  total: number;
}

function sum(cpus: CpuTimes): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/** Busy share (0-100) between two samples; 0 when no time passed. */
function usageBetween(a: Sample, b: Sample): number {
  const total = b.total - a.total;
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, ((b.busy - a.busy) / total) * 100));
}

export interface CpuSamplerOptions {
  read?: () => CpuTimes;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Shortest window a usage figure is measured over. Default 100 ms. */
  windowMs?: number;
  /** Older than this, the previous sample says nothing about "now": measure afresh. Default 10 s. */
  maxAgeMs?: number;
}

/**
 * CPU usage from the kernel's per-core time counters (no command, no
 * systeminformation `currentLoad`, whose first call blocks for half a
 * second). Usage is measured between this call and the previous one when
 * that one is recent; otherwise over a fresh `windowMs` pause. Calls closer
 * together than `windowMs` answer the last figure again.
 */
export class CpuSampler {
  private last: Sample | null = null;
  private lastUsage: number | null = null;
  private readonly read: () => CpuTimes;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly windowMs: number;
  private readonly maxAgeMs: number;

  constructor(opts: CpuSamplerOptions = {}) {
    this.read = opts.read ?? (() => os.cpus());
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.windowMs = opts.windowMs ?? 100;
    this.maxAgeMs = opts.maxAgeMs ?? 10_000;
  }

  private take(): Sample {
    return { at: this.now(), ...sum(this.read()) };
  }

  async usagePercent(): Promise<number> {
    let previous = this.last;
    const age = previous ? this.now() - previous.at : Infinity;
    if (age < this.windowMs && this.lastUsage !== null) return this.lastUsage;
    if (!previous || age > this.maxAgeMs) {
      previous = this.take();
      await this.sleep(this.windowMs);
    }
    const current = this.take();
    this.last = current;
    this.lastUsage = usageBetween(previous, current);
    return this.lastUsage;
  }
}

/** Where health reads its figures; each part is replaceable in tests. */
export interface HealthSources {
  cpu?: CpuSampler;
  /** The CPU's marketing name; read once and cached. */
  cpuModel?: () => Promise<string>;
  mem?: () => Promise<{ total: number; available: number }>;
  fsSize?: () => Promise<si.Systeminformation.FsSizeData[]>;
  now?: () => number;
}

async function defaultCpuModel(): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- some kernels report no model
  const fromOs = os.cpus()[0]?.model?.trim();
  if (fromOs && fromOs !== 'unknown') return fromOs;
  const c = await si.cpu();
  return [c.manufacturer, c.brand].filter((s) => s.length > 0).join(' ') || 'unknown';
}

const whole = (n: number): number => (Number.isFinite(n) && n > 0 ? Math.round(n) : 0);
const clampPercent = (n: number): number => (Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : 0);

/**
 * Build a `health()` with its own CPU sampler and cached static facts. Cheap
 * by design: after the first call (which pauses ~100 ms to measure CPU
 * usage) a call costs a `/proc/meminfo` read and one `df`, with fixed
 * arguments only.
 */
export function createHealth(sources: HealthSources = {}): () => Promise<SystemHealth> {
  const cpu = sources.cpu ?? new CpuSampler();
  const readModel = sources.cpuModel ?? defaultCpuModel;
  const readMem = sources.mem ?? (() => si.mem());
  const readFs = sources.fsSize ?? (() => si.fsSize());
  const now = sources.now ?? Date.now;
  let model: Promise<string> | null = null;

  return async () => {
    model ??= readModel().catch(() => 'unknown');
    const [usagePercent, cpuModel, mem, fs] = await Promise.all([
      cpu.usagePercent(),
      model,
      readMem(),
      readFs().catch(() => []),
    ]);
    const [one = 0, five = 0, fifteen = 0] = os.loadavg();
    const total = whole(mem.total);
    const available = Math.min(total, whole(mem.available));
    return {
      cpu: {
        cores: os.cpus().length || Math.max(1, os.availableParallelism()),
        model: cpuModel,
        usagePercent: clampPercent(usagePercent),
      },
      ram: { totalBytes: total, usedBytes: total - available, availableBytes: available },
      disk: fs.map((d) => ({
        mount: d.mount,
        fs: d.fs,
        type: d.type,
        sizeBytes: whole(d.size),
        usedBytes: whole(d.used),
        usePercent: clampPercent(d.use),
      })),
      load: { one: Math.max(0, one), five: Math.max(0, five), fifteen: Math.max(0, fifteen) },
      uptimeSeconds: Math.max(0, os.uptime()),
      hostname: os.hostname(),
      platform: process.platform,
      at: now(),
    };
  };
}

/** The device's health, from one shared sampler. */
export const health: () => Promise<SystemHealth> = createHealth();

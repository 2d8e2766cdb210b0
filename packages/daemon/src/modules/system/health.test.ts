import os from 'node:os';
import { systemHealthSchema } from '@fabric/protocol';
import { describe, expect, it } from 'vitest';
import { CpuSampler, createHealth, type CpuTimes } from './health.js';

function cores(busy: number, idle: number, n = 2): CpuTimes {
  return Array.from({ length: n }, () => ({ times: { user: busy, nice: 0, sys: 0, idle, irq: 0 } }));
}

describe('health', () => {
  it('agrees with node:os on cores, memory and uptime, and parses with its schema', async () => {
    const health = createHealth();
    const h = systemHealthSchema.parse(await health());
    expect(h.cpu.cores).toBe(os.cpus().length);
    expect(h.cpu.model.length).toBeGreaterThan(0);
    expect(Math.abs(h.ram.totalBytes - os.totalmem()) / os.totalmem()).toBeLessThan(0.01);
    expect(h.ram.usedBytes + h.ram.availableBytes).toBe(h.ram.totalBytes);
    expect(Math.abs(h.uptimeSeconds - os.uptime())).toBeLessThan(5);
    expect(h.hostname).toBe(os.hostname());
    expect(h.platform).toBe(process.platform);
    expect(Math.abs(h.at - Date.now())).toBeLessThan(5_000);
    expect(h.disk.length).toBeGreaterThan(0);
    for (const d of h.disk) expect(d.usedBytes).toBeLessThanOrEqual(d.sizeBytes);
  });

  it('is fast: a call costs milliseconds once the CPU sampler has a baseline', async () => {
    const health = createHealth();
    let start = performance.now();
    await health();
    const first = performance.now() - start;
    start = performance.now();
    await health();
    const second = performance.now() - start;
    expect(first).toBeLessThan(1_500);
    expect(second).toBeLessThan(500);
  });
});

describe('CpuSampler', () => {
  it('measures a fresh window on the first call, then between calls', async () => {
    let now = 0;
    let sample = cores(100, 100);
    const slept: number[] = [];
    const sampler = new CpuSampler({
      read: () => sample,
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
        sample = cores(175, 125); // 75 busy of 100 per core
      },
    });
    expect(await sampler.usagePercent()).toBe(75);
    expect(slept).toEqual([100]);

    now += 1_000;
    sample = cores(185, 215); // 10 busy of 100
    expect(await sampler.usagePercent()).toBe(10);
    expect(slept).toEqual([100]);
  });

  it('answers the last figure for calls closer than the window, and measures afresh after a long gap', async () => {
    let now = 0;
    let sample = cores(0, 100);
    const slept: number[] = [];
    const sampler = new CpuSampler({
      read: () => sample,
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
        sample = cores(sample[0]!.times.user + 50, sample[0]!.times.idle + 50);
      },
    });
    expect(await sampler.usagePercent()).toBe(50);
    now += 10;
    sample = cores(1_000, 100); // would be 100% if it were measured
    expect(await sampler.usagePercent()).toBe(50);
    now += 60_000;
    expect(await sampler.usagePercent()).toBe(50);
    expect(slept).toEqual([100, 100]);
  });
});

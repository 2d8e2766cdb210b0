import si from 'systeminformation';
import type { DisksAnswer } from '@fabric/protocol';

/** Where the `disks` query reads; replaceable in tests. Both run fixed commands (`df`, `lsblk`). */
export interface DisksSources {
  fsSize?: () => Promise<si.Systeminformation.FsSizeData[]>;
  blockDevices?: () => Promise<si.Systeminformation.BlockDevicesData[]>;
}

const whole = (n: number): number => (Number.isFinite(n) && n > 0 ? Math.round(n) : 0);

/** The `disks` query: mounted filesystems with their usage, and block devices. */
export async function queryDisks(sources: DisksSources = {}): Promise<DisksAnswer> {
  const [fs, devices] = await Promise.all([
    (sources.fsSize ?? (() => si.fsSize()))(),
    (sources.blockDevices ?? (() => si.blockDevices()))().catch(() => []),
  ]);
  return {
    query: 'disks',
    filesystems: fs.map((d) => ({
      fs: d.fs,
      type: d.type,
      mount: d.mount,
      sizeBytes: whole(d.size),
      usedBytes: whole(d.used),
      availableBytes: whole(d.available),
      usePercent: Number.isFinite(d.use) ? Math.min(100, Math.max(0, d.use)) : 0,
      readOnly: typeof d.rw === 'boolean' ? !d.rw : null,
    })),
    blockDevices: devices.map((b) => ({
      name: b.name,
      type: b.type,
      fsType: b.fsType,
      mount: b.mount,
      sizeBytes: whole(b.size),
      model: b.model,
      label: b.label,
      removable: Boolean(b.removable),
    })),
  };
}

import os from 'node:os';
import { readFile, readdir, readlink } from 'node:fs/promises';
import si from 'systeminformation';
import type { ListeningPort, PortsAnswer } from '@fabric/protocol';

type SocketProtocol = ListeningPort['protocol'];

/** A listening socket from /proc/net/*, before its owner is known. */
export interface ProcNetSocket {
  protocol: SocketProtocol;
  address: string;
  port: number;
  inode: number;
}

const TCP_LISTEN = '0A';
/** TCP_CLOSE: for UDP, a bound socket with no peer, i.e. one that receives from anyone. */
const UDP_UNCONNECTED = '07';

/** The bytes of one 32-bit word as the kernel printed it (`%08X` of a host-order integer). */
function wordBytes(hex: string, littleEndian: boolean): number[] {
  const bytes = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return littleEndian ? bytes.reverse() : bytes;
}

/** Shortest IPv6 text form (RFC 5952): lowercase, leading zeros dropped, longest zero run as `::`. */
export function formatIPv6(groups: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Decode a /proc/net address (`0100007F` or 32 hex digits for IPv6). */
export function decodeProcAddress(hex: string, littleEndian: boolean): string {
  if (hex.length === 8) return wordBytes(hex, littleEndian).join('.');
  const bytes: number[] = [];
  for (let w = 0; w < 32; w += 8) bytes.push(...wordBytes(hex.slice(w, w + 8), littleEndian));
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  return formatIPv6(groups);
}

/**
 * The listening sockets in one /proc/net/{tcp,tcp6,udp,udp6} table: TCP in
 * LISTEN, UDP bound with no peer. Malformed lines are skipped.
 */
export function parseProcNet(
  text: string,
  protocol: SocketProtocol,
  littleEndian = os.endianness() === 'LE',
): ProcNetSocket[] {
  const wanted = protocol.startsWith('tcp') ? TCP_LISTEN : UDP_UNCONNECTED;
  const sockets: ProcNetSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const [local, remote, state, inode] = [f[1], f[2], f[3], f[9]];
    if (!local || !remote || !inode || state !== wanted) continue;
    if (protocol.startsWith('udp') && !remote.endsWith(':0000')) continue;
    const m = /^([0-9A-F]{8}|[0-9A-F]{32}):([0-9A-F]{4})$/.exec(local);
    if (!m) continue;
    sockets.push({
      protocol,
      address: decodeProcAddress(m[1]!, littleEndian),
      port: parseInt(m[2]!, 16),
      inode: Number(inode),
    });
  }
  return sockets;
}

/**
 * Which process holds each socket inode, found through the /proc/<pid>/fd
 * links the daemon may read (its own user's processes, or all as root).
 * Stops as soon as every inode is found.
 */
export async function socketOwners(
  inodes: Set<number>,
  procRoot = '/proc',
): Promise<Map<number, { pid: number; name: string }>> {
  const owners = new Map<number, { pid: number; name: string }>();
  if (inodes.size === 0) return owners;
  const pids = (await readdir(procRoot))
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .sort((a, b) => a - b);
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`${procRoot}/${pid}/fd`);
    } catch {
      continue; // gone, or another user's
    }
    let name: string | null = null;
    const targets = await Promise.all(fds.map((fd) => readlink(`${procRoot}/${pid}/fd/${fd}`).catch(() => '')));
    for (const target of targets) {
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (!m) continue;
      const inode = Number(m[1]);
      if (!inodes.has(inode) || owners.has(inode)) continue;
      name ??= (await readFile(`${procRoot}/${pid}/comm`, 'utf8').catch(() => '')).trim();
      owners.set(inode, { pid, name });
    }
    if (owners.size === inodes.size) break;
  }
  return owners;
}

async function linuxPorts(procRoot: string): Promise<ListeningPort[]> {
  const tables: SocketProtocol[] = ['tcp', 'tcp6', 'udp', 'udp6'];
  const sockets = (
    await Promise.all(
      tables.map(async (t) => {
        const text = await readFile(`${procRoot}/net/${t}`, 'utf8').catch(() => '');
        return parseProcNet(text, t);
      }),
    )
  ).flat();
  const owners = await socketOwners(new Set(sockets.map((s) => s.inode).filter((i) => i > 0)), procRoot);
  return sockets.map((s) => {
    const owner = owners.get(s.inode);
    return {
      protocol: s.protocol,
      address: s.address,
      port: s.port,
      pid: owner?.pid ?? null,
      process: owner?.name ?? null,
    };
  });
}

/** Elsewhere, systeminformation's `netstat`/`lsof` reading (fixed arguments); TCP listeners only. */
async function otherPorts(): Promise<ListeningPort[]> {
  const conns = await si.networkConnections();
  return conns
    .filter((c) => c.state === 'LISTEN')
    .flatMap((c) => {
      const port = Number(c.localPort);
      if (!Number.isInteger(port) || port < 0 || port > 65535) return [];
      const protocol: SocketProtocol = c.protocol === 'tcp6' || c.localAddress.includes(':') ? 'tcp6' : 'tcp';
      const pid = Number.isInteger(c.pid) && c.pid > 0 ? c.pid : null;
      return [{ protocol, address: c.localAddress, port, pid, process: pid !== null && c.process ? c.process : null }];
    });
}

/**
 * The `ports` query: listening TCP and UDP sockets with their process where
 * the daemon can see it. On Linux read straight from /proc (no command).
 */
export async function queryPorts(opts: { procRoot?: string; platform?: NodeJS.Platform } = {}): Promise<PortsAnswer> {
  const ports =
    (opts.platform ?? process.platform) === 'linux' ? await linuxPorts(opts.procRoot ?? '/proc') : await otherPorts();
  ports.sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port || a.address.localeCompare(b.address));
  return { query: 'ports', ports };
}

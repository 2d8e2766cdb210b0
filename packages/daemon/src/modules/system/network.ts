import os from 'node:os';
import si from 'systeminformation';
import type { NetworkAnswer, NetworkInterface } from '@fabric/protocol';

/** Where the `network` query reads from; replaceable in tests. */
export interface NetworkSources {
  /** Every address of every interface (node's own view, no command). */
  addresses?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  /** Link facts: MAC, state, type, MTU, speed, default route. */
  links?: () => Promise<si.Systeminformation.NetworkInterfacesData[]>;
}

type Link = si.Systeminformation.NetworkInterfacesData;

/**
 * Merge node's address list with systeminformation's link facts. An
 * interface either side knows is listed; node is the authority on addresses
 * (systeminformation keeps only one of each family).
 */
export function mergeInterfaces(addresses: NodeJS.Dict<os.NetworkInterfaceInfo[]>, links: Link[]): NetworkInterface[] {
  const byName = new Map(links.map((l) => [l.iface, l]));
  const names = [...new Set([...links.map((l) => l.iface), ...Object.keys(addresses)])];
  return names.map((name) => {
    const link = byName.get(name);
    const addrs = addresses[name] ?? [];
    return {
      name,
      mac: link?.mac || addrs[0]?.mac || '',
      internal: link?.internal ?? addrs.some((a) => a.internal),
      default: link?.default ?? false,
      operstate: link?.operstate ?? '',
      type: link?.type ?? '',
      mtu: typeof link?.mtu === 'number' && Number.isInteger(link.mtu) ? link.mtu : null,
      // Linux reports -1 for a link with no known speed.
      speedMbps: typeof link?.speed === 'number' && Number.isFinite(link.speed) && link.speed >= 0 ? link.speed : null,
      addresses: addrs.map((a) => ({
        family: a.family === 'IPv6' ? ('IPv6' as const) : ('IPv4' as const),
        address: a.address,
        netmask: a.netmask,
        cidr: a.cidr ?? null,
      })),
    };
  });
}

/** The `network` query: interfaces with all their addresses. */
export async function queryNetwork(sources: NetworkSources = {}): Promise<NetworkAnswer> {
  const addresses = (sources.addresses ?? (() => os.networkInterfaces()))();
  const links = await (sources.links ?? (() => si.networkInterfaces()))().catch(() => [] as Link[]);
  return { query: 'network', interfaces: mergeInterfaces(addresses, Array.isArray(links) ? links : [links]) };
}

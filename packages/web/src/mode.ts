/**
 * Which deployment this page is: `fabric` (the cloud control plane: vault,
 * pairing, fuel, many devices) or `local` (a device serving its own cockpit
 * on the LAN). Decided by hostname: any `fabric.*` host, an explicit list,
 * or a test override (`?mode=` stored for the tab, or window.__FABRIC_MODE__).
 */
export const FABRIC_HOSTNAMES: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

export type Mode = 'fabric' | 'local';

export function modeFor(
  hostname: string,
  override: string | null | undefined,
  extra: readonly string[] = FABRIC_HOSTNAMES,
): Mode {
  if (override === 'fabric' || override === 'local') return override;
  const host = hostname.toLowerCase();
  if (host.startsWith('fabric.') || extra.includes(host)) return 'fabric';
  return 'local';
}

export function currentMode(): Mode {
  const params = new URLSearchParams(location.search);
  const fromQuery = params.get('mode');
  if (fromQuery) sessionStorage.setItem('fabric.mode', fromQuery);
  const override = (window as { __FABRIC_MODE__?: string }).__FABRIC_MODE__ ?? sessionStorage.getItem('fabric.mode');
  return modeFor(location.hostname, override);
}

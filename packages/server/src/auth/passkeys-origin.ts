import { FabricError } from '@fabric/protocol';

/** Where a WebAuthn ceremony happens: the relying party id and the page origin the browser will report. */
export interface RelyingParty {
  /** A hostname: the passkey is bound to it (and its subdomains may not use it unless they ask for it). */
  rpId: string;
  /** `scheme://host[:port]`, exactly as the browser writes it into clientDataJSON. */
  origin: string;
}

/** A Host header value: a DNS name or `localhost`, an optional port. IP literals and anything else are refused. */
const HOST =
  /^(?<name>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)(?::(?<port>\d{1,5}))?$/;

/**
 * The relying party for one request.
 *
 * With `publicOrigin` (FABRIC_PUBLIC_ORIGIN, e.g. `https://fabric.example.org`)
 * the answer is pinned to it: use this behind a TLS-terminating proxy, where
 * the control plane itself only sees plain HTTP, and requests whose Host
 * differs are refused.
 *
 * Without it the answer is derived from the request's Host header and the
 * connection's own scheme (proxy headers are never trusted), which is what a
 * self-hosted control plane opened as `http://localhost:7300` or on its own
 * HTTPS name needs. Deriving from Host is safe for WebAuthn: the browser
 * signs over the origin it really is on and over the rp id's hash, and
 * keeps each passkey to the rp id it was made for, so a forged Host header
 * can only make the server expect an origin that no genuine assertion for
 * this site carries. What it cannot fix is a name change: a passkey made at
 * `localhost` does not work at `fabric.lan`.
 *
 * Browsers offer WebAuthn only in secure contexts, so a plain-HTTP origin
 * other than `localhost` (or `*.localhost`) is refused here with a message
 * that says so, and IP-literal hosts are refused because an rp id must be a
 * domain name.
 */
export function relyingPartyFor(
  req: { protocol: string; headers: { host?: string | undefined } },
  publicOrigin?: string,
): RelyingParty {
  const host = (req.headers.host ?? '').trim().toLowerCase();
  if (publicOrigin) {
    const pinned = new URL(publicOrigin);
    if (host && host !== pinned.host) {
      throw new FabricError(
        'bad_request',
        `passkeys work at ${pinned.origin} only (FABRIC_PUBLIC_ORIGIN); this request came to ${host}`,
      );
    }
    return { rpId: pinned.hostname, origin: pinned.origin };
  }
  const m = HOST.exec(host);
  // A last label of digits is an IPv4 address, never a domain (IPv6 literals fail the pattern).
  if (!m?.groups || /(^|\.)\d+$/.test(m.groups.name!)) {
    throw new FabricError(
      'bad_request',
      'passkeys need the cockpit opened by a host name (e.g. http://localhost:7300 or https://fabric.example.org), not an ip address',
    );
  }
  const name = m.groups.name!;
  const port = m.groups.port;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
    throw new FabricError('bad_request', 'the Host header has a bad port');
  const scheme = req.protocol === 'https' ? 'https' : 'http';
  const local = name === 'localhost' || name.endsWith('.localhost');
  if (scheme === 'http' && !local) {
    throw new FabricError(
      'bad_request',
      `passkeys need https (or http://localhost); open the cockpit at https://${host} or set FABRIC_PUBLIC_ORIGIN behind a tls proxy`,
    );
  }
  const defaultPort = scheme === 'https' ? '443' : '80';
  const origin = `${scheme}://${name}${port !== undefined && port !== defaultPort ? `:${port}` : ''}`;
  return { rpId: name, origin };
}

/** Checks FABRIC_PUBLIC_ORIGIN once at start: an absolute http(s) origin with nothing after the host. */
export function parsePublicOrigin(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`FABRIC_PUBLIC_ORIGIN is not a url: ${value}`);
  }
  if (
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search ||
    url.hash
  ) {
    throw new Error(`FABRIC_PUBLIC_ORIGIN must be like https://fabric.example.org (an origin, no path): ${value}`);
  }
  return url.origin;
}

/**
 * A browser's cookie handling, as far as the control plane's cookies need
 * it: a jar that keeps each cookie with its Path, drops it on `Max-Age=0`
 * or expiry, and sends only the cookies whose Path covers the request.
 * Writes carry the CSRF header, as the cockpit's fetches do.
 */
export class BrowserJar {
  private readonly jar = new Map<string, { value: string; path: string; expiresAt: number; attrs: string }>();

  constructor(
    readonly base: string,
    private readonly now: () => number = Date.now,
  ) {}

  async call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: any; setCookie: string[] }> {
    const cookie = this.cookieHeader(path);
    const res = await fetch(this.base + path, {
      method,
      headers: {
        ...(method === 'GET' ? {} : { 'x-fabric-csrf': '1' }),
        ...(cookie ? { cookie } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const setCookie = res.headers.getSetCookie();
    for (const line of setCookie) this.store(line);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, setCookie };
  }

  /** The Set-Cookie attributes last stored for `name` ("Path=/; HttpOnly; ..."), or undefined. */
  attributes(name: string): string | undefined {
    return this.jar.get(name)?.attrs;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  get(name: string): string | undefined {
    const c = this.jar.get(name);
    return c && c.expiresAt > this.now() ? c.value : undefined;
  }

  set(name: string, value: string, path = '/'): void {
    this.jar.set(name, { value, path, expiresAt: Infinity, attrs: `Path=${path}` });
  }

  delete(name: string): void {
    this.jar.delete(name);
  }

  private cookieHeader(path: string): string {
    const out: string[] = [];
    for (const [name, c] of this.jar) {
      if (c.expiresAt <= this.now()) continue;
      if (path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
        out.push(`${name}=${c.value}`);
    }
    return out.join('; ');
  }

  private store(line: string): void {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq);
    const value = pair!.slice(eq + 1);
    const get = (k: string) => attrs.find((a) => a.toLowerCase().startsWith(`${k.toLowerCase()}=`))?.split('=')[1];
    const maxAge = get('Max-Age');
    if (maxAge === '0' || value === '') {
      this.jar.delete(name);
      return;
    }
    this.jar.set(name, {
      value,
      path: get('Path') ?? '/',
      expiresAt: maxAge === undefined ? Infinity : this.now() + Number(maxAge) * 1000,
      attrs: attrs.join('; '),
    });
  }
}

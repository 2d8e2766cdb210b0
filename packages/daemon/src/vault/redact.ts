/** Shorter values are not redacted: masking every "abc" in a session's output would garble it. */
export const MIN_REDACT_LENGTH = 4;

/**
 * Masks a session's secrets in what it prints, as `[redacted:NAME]`, in
 * every form a harness is likely to echo them: as is, and JSON-escaped.
 * Streams are handled chunk by chunk: a secret split across two chunks is
 * still caught, because the end of a chunk that could begin a secret is held
 * back until the next chunk (or `flush`).
 */
export class Redactor {
  private readonly needles: { text: string; mask: string }[];
  private readonly longest: number;

  constructor(secrets: ReadonlyMap<string, string>) {
    const needles: { text: string; mask: string }[] = [];
    for (const [name, value] of secrets) {
      if (value.length < MIN_REDACT_LENGTH) continue;
      const mask = `[redacted:${name}]`;
      needles.push({ text: value, mask });
      const escaped = JSON.stringify(value).slice(1, -1);
      if (escaped !== value) needles.push({ text: escaped, mask });
    }
    // Longest first, so a secret that contains another is masked whole.
    needles.sort((a, b) => b.text.length - a.text.length);
    this.needles = needles;
    this.longest = needles.reduce((m, n) => Math.max(m, n.text.length), 0);
  }

  get active(): boolean {
    return this.needles.length > 0;
  }

  /** Mask a complete string. */
  redact(text: string): string {
    let out = text;
    for (const n of this.needles) if (out.includes(n.text)) out = out.split(n.text).join(n.mask);
    return out;
  }

  /**
   * Mask every string in a JSON-shaped value (object keys too), without
   * encoding it: events and tool inputs stay objects. A number whose digits
   * hold a secret becomes the masked string.
   */
  redactValue<T>(value: T): T {
    return this.active ? (this.walk(value) as T) : value;
  }

  private walk(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (typeof value === 'number') {
      const text = String(value);
      const masked = this.redact(text);
      return masked === text ? value : masked;
    }
    if (Array.isArray(value)) return value.map((v) => this.walk(v));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.redact(k), this.walk(v)]));
    }
    return value;
  }

  /** A stream of chunks: returns what may go out now; `carry` holds what must wait. */
  stream(): { push(chunk: string): string; flush(): string } {
    let carry = '';
    return {
      push: (chunk: string) => {
        if (!this.active) return chunk;
        const text = this.redact(carry + chunk);
        const keep = this.heldBack(text);
        carry = text.slice(text.length - keep);
        return text.slice(0, text.length - keep);
      },
      flush: () => {
        const rest = this.redact(carry);
        carry = '';
        return rest;
      },
    };
  }

  /** Length of the longest tail of `text` that is a proper prefix of some secret. */
  private heldBack(text: string): number {
    const max = Math.min(this.longest - 1, text.length);
    for (let len = max; len > 0; len--) {
      const tail = text.slice(text.length - len);
      if (this.needles.some((n) => n.text.startsWith(tail))) return len;
    }
    return 0;
  }
}

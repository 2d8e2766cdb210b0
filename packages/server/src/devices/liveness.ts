import type { Clock } from '../clock.js';

/**
 * Tracks when each connected device was last heard from. One sweep over all
 * of them (driven by a single timer, not one per socket) returns the ones
 * silent for longer than `deadAfterMs`. With heartbeats every 20 s, a 40 s
 * limit and a 10 s sweep, a dead device is found within 50 s.
 */
export class Liveness {
  private readonly lastSeen = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    readonly deadAfterMs: number,
  ) {}

  touch(id: string): void {
    this.lastSeen.set(id, this.clock.now());
  }

  forget(id: string): void {
    this.lastSeen.delete(id);
  }

  /** Ids silent past the limit; they are forgotten as they are returned. */
  sweep(): string[] {
    const now = this.clock.now();
    const dead: string[] = [];
    for (const [id, seen] of this.lastSeen) {
      if (now - seen > this.deadAfterMs) {
        dead.push(id);
        this.lastSeen.delete(id);
      }
    }
    return dead;
  }

  get size(): number {
    return this.lastSeen.size;
  }
}

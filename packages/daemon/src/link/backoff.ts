export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential, capped,
 * with "equal jitter" (half fixed, half random) so a fleet reconnecting after
 * an outage spreads out yet never retries in a tight loop.
 * `random` returns [0, 1).
 */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = defaultBackoff,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

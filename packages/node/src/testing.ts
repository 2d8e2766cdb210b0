/**
 * Test helpers the packages share (`@fabric/node/testing`). Tests wait for a
 * positive signal, never for time to pass: `until` polls until what it
 * waits for is there, and fails with its name when it never comes.
 */

/** Poll `fn` (sync or async) every 25 ms until it returns something truthy, and return that. */
export async function until<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Waits until `check` returns a value other than undefined/false, polling every `intervalMs`; throws with `what`
 * and the last value after `timeoutMs`. Tests synchronise on an observable condition with this, never on a fixed
 * sleep, so a slow machine makes them slower, not flaky.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50 } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : String(last)})`);
    await new Promise<void>((resolve) => setTimeout(resolve, intervalMs));
  }
}

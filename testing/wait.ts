/**
 * The one way tests wait: for a condition of the system (a state, a count, a log line), never for a fixed time.
 * The bound only keeps a hang from lasting for ever; under load the condition comes late, never never.
 */
/** Polls until `read()` is truthy (the system works asynchronously), failing after `ms`. */
export async function waitFor<T>(read: () => T | Promise<T>, ms = 20000, what = 'condition'): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

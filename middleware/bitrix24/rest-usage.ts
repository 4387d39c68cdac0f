import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * How many Bitrix24 REST calls a piece of work issued (a lookup, for its trace), background work it started included
 * (an index answer's confirming search): calls are counted where they are queued, in the async context of whoever
 * asked, so a call shared with another lookup in flight or answered from a cache counts for none. Batched calls count
 * one each (the portal's operating limits count methods).
 */
const usage = new AsyncLocalStorage<{ calls: number }>();

export function noteRestCall(): void {
  const u = usage.getStore();
  if (u) u.calls += 1;
}

export async function countRestCalls<T>(work: () => Promise<T>): Promise<{ result: T; calls: () => number }> {
  const u = { calls: 0 };
  const result = await usage.run(u, work);
  return { result, calls: () => u.calls };
}

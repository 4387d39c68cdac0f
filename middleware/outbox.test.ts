import pino from 'pino';
import { Outbox, type Attempt } from './outbox';
import { TestStores } from '../testing/stores';

const log = pino({ level: 'silent' });
const stores = new TestStores();
afterEach(() => stores.cleanup());
afterAll(() => stores.stop());

describe.each(['sqlite', 'postgres'] as const)('Outbox on %s', (kind) => {
  it('keeps one item per key, retries with backoff, and tells the handler about earlier tries', async () => {
    const store = await stores.open(kind);
    const seen: Attempt[] = [];
    let fail = true;
    let t = 1_000_000;
    const outbox = new Outbox(
      store,
      {
        job: async (a) => {
          seen.push(a);
          if (fail) throw new Error('portal down');
          return { ok: 1 };
        },
      },
      log,
      { baseDelayMs: 1000, now: () => t },
    );
    const a = await outbox.enqueue('k1', 'job', { n: 1 });
    const b = await outbox.enqueue('k1', 'job', { n: 2 });
    expect(b.id).toBe(a.id);
    expect(b.payload).toEqual({ n: 1 });
    const after = await outbox.deliver(a.id);
    expect(after).toMatchObject({ state: 'pending', attempts: 1, lastError: 'portal down' });
    expect(after.nextAt).toBeGreaterThanOrEqual(t + 750);
    await outbox.runDue();
    expect(seen).toHaveLength(1); // not due yet
    t += 2000;
    fail = false;
    await outbox.runDue();
    expect(seen.map((s) => s.previousAttempts)).toEqual([0, 1]);
    expect(await outbox.get('k1')).toMatchObject({ state: 'done', result: { ok: 1 }, attempts: 2 });
    expect((await outbox.stats()).depth).toBe(0);
  });

  it("a delayed item waits, and each enqueue of its key before its first try pushes it back (a call's finish waits for the other tabs)", async () => {
    const store = await stores.open(kind);
    let t = 1_000_000;
    let runs = 0;
    const outbox = new Outbox(store, { job: async () => ++runs }, log, { now: () => t });
    await outbox.enqueue('f1', 'job', {}, { delayMs: 3000 });
    t += 2000;
    await outbox.enqueue('f1', 'job', {}, { delayMs: 3000 }); // another tab's report: due at +5 s now
    t += 2000;
    await outbox.runDue();
    expect(runs).toBe(0);
    t += 1000;
    await outbox.runDue();
    expect(runs).toBe(1);
    await outbox.enqueue('f1', 'job', {}, { delayMs: 3000 }); // done: nothing moves
    expect(await outbox.get('f1')).toMatchObject({ state: 'done', attempts: 1 });
  });

  it('prunes only finished items older than the limit', async () => {
    const store = await stores.open(kind);
    let t = 1_000_000;
    const outbox = new Outbox(store, { ok: async () => 1, down: async () => Promise.reject(new Error('x')) }, log, { now: () => t });
    await outbox.deliver((await outbox.enqueue('done-old', 'ok', {})).id);
    await outbox.deliver((await outbox.enqueue('pending-old', 'down', {})).id);
    t += 8 * 86_400_000;
    await outbox.deliver((await outbox.enqueue('done-new', 'ok', {})).id);
    expect(await outbox.pruneDone(7 * 86_400_000)).toBe(1);
    expect([await outbox.get('done-old'), (await outbox.get('pending-old'))?.state, (await outbox.get('done-new'))?.state]).toEqual([null, 'pending', 'done']);
  });

  it('survives reopening the store', async () => {
    const s1 = await stores.open(kind);
    await new Outbox(s1, { job: async () => 1 }, log).enqueue('k2', 'job', { x: 1 });
    await s1.close();
    const s2 = await stores.open(kind, s1);
    const delivered: unknown[] = [];
    const o2 = new Outbox(s2, { job: async (a) => delivered.push(a.payload) }, log);
    await o2.runDue();
    expect(delivered).toEqual([{ x: 1 }]);
  });

  it('joins a delivery already under way instead of running the handler twice', async () => {
    const store = await stores.open(kind);
    let runs = 0;
    let finish!: () => void;
    const outbox = new Outbox(store, { job: () => new Promise((r) => (finish = () => r(++runs))) }, log);
    const item = await outbox.enqueue('k3', 'job', {});
    const first = outbox.deliver(item.id);
    const all = Promise.all([first, outbox.deliver(item.id), outbox.runDue()]);
    while (!finish) await new Promise((r) => setImmediate(r));
    finish();
    await all;
    expect(runs).toBe(1);
  });

  it('an item whose node died mid-try (its lease ran out) is tried again by another, counted as a retry', async () => {
    const a = await stores.open(kind);
    let t = 1_000_000;
    let started!: () => void;
    const trying = new Promise<void>((r) => (started = r));
    const dying = new Outbox(a, { job: () => (started(), new Promise(() => undefined)) }, log, { now: () => t, leaseMs: 10_000 });
    const item = await dying.enqueue('k4', 'job', { n: 4 });
    void dying.deliver(item.id); // never ends: the node "dies" holding the lease
    await trying;
    const b = await stores.open(kind, a);
    const seen: Attempt[] = [];
    const survivor = new Outbox(b, { job: async (x) => seen.push(x) }, log, { now: () => t, leaseMs: 10_000 });
    await survivor.runDue();
    expect(seen).toEqual([]); // the lease still holds
    t += 10_001;
    await survivor.runDue();
    expect(seen).toEqual([{ payload: { n: 4 }, previousAttempts: 1 }]);
    expect(await survivor.get('k4')).toMatchObject({ state: 'done', attempts: 2 });
  });
});

describe('Outbox on postgres, two nodes', () => {
  it('delivers each of many items exactly once while two nodes drain the same outbox', async () => {
    const a = await stores.open('postgres');
    const b = await stores.open('postgres', a);
    const runs = new Map<string, string[]>();
    const handler = (node: string) => async (x: Attempt) => {
      const k = (x.payload as { k: string }).k;
      runs.set(k, [...(runs.get(k) ?? []), node]);
      await new Promise((r) => setImmediate(r));
    };
    const oa = new Outbox(a, { job: handler('a') }, log);
    const ob = new Outbox(b, { job: handler('b') }, log);
    for (let i = 0; i < 200; i++) await (i % 2 ? oa : ob).enqueue(`m${i}`, 'job', { k: `m${i}` });
    // Each node's share first (on a loaded machine one node could otherwise claim everything before the other asks),
    // then both drain the rest at once.
    await ob.runDue(50);
    expect(runs.size).toBe(50); // a batch claims its limit, never the whole outbox
    await oa.runDue(50);
    expect(runs.size).toBe(100);
    await Promise.all([oa.runDue(50), ob.runDue(50), oa.runDue(50), ob.runDue(50), oa.runDue(50), ob.runDue(50), oa.runDue(50), ob.runDue(50)]);
    await Promise.all([oa.runDue(), ob.runDue()]); // anything left
    expect(runs.size).toBe(200);
    expect([...runs.values()].every((r) => r.length === 1)).toBe(true);
    expect(new Set([...runs.values()].flat())).toEqual(new Set(['a', 'b'])); // both took a share
    expect((await oa.stats()).depth).toBe(0);
  });

  it('a delivery asked of both nodes at once runs on one; the other sees it under way', async () => {
    const a = await stores.open('postgres');
    const b = await stores.open('postgres', a);
    let runs = 0;
    let finish!: () => void;
    const job = () => new Promise((r) => ((runs += 1), (finish = () => r(runs))));
    const oa = new Outbox(a, { job }, log);
    const ob = new Outbox(b, { job }, log);
    const item = await oa.enqueue('lead:1', 'job', {});
    const onA = oa.deliver(item.id);
    while (!finish) await new Promise((r) => setImmediate(r));
    const onB = await ob.deliver(item.id);
    expect(onB).toMatchObject({ state: 'pending', attempts: 1 });
    finish();
    expect(await onA).toMatchObject({ state: 'done', attempts: 1 });
    expect(runs).toBe(1);
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Outbox, type Attempt } from './outbox';
import { Store } from './store';

describe('Outbox', () => {
  const log = pino({ level: 'silent' });

  it('keeps one item per key, retries with backoff, and tells the handler about earlier tries', async () => {
    const store = Store.open(mkdtempSync(join(tmpdir(), 'ob-')));
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
    const a = outbox.enqueue('k1', 'job', { n: 1 });
    const b = outbox.enqueue('k1', 'job', { n: 2 });
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
    expect(outbox.get('k1')).toMatchObject({ state: 'done', result: { ok: 1 }, attempts: 2 });
    expect(outbox.stats().depth).toBe(0);
    store.close();
  });

  it('drops finished items after the given time, never pending ones', async () => {
    const store = Store.open(mkdtempSync(join(tmpdir(), 'ob-')));
    let t = 1_000_000;
    const outbox = new Outbox(store, { ok: async () => 1, down: async () => Promise.reject(new Error('portal down')) }, log, { baseDelayMs: 1000, now: () => t });
    await outbox.deliver(outbox.enqueue('done-old', 'ok', {}).id);
    await outbox.deliver(outbox.enqueue('pending-old', 'down', {}).id);
    t += 8 * 86_400_000;
    await outbox.deliver(outbox.enqueue('done-new', 'ok', {}).id);
    expect(outbox.pruneDone(7 * 86_400_000)).toBe(1);
    expect([outbox.get('done-old'), outbox.get('pending-old')?.state, outbox.get('done-new')?.state]).toEqual([null, 'pending', 'done']);
    store.close();
  });

  it('survives reopening the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ob-'));
    const s1 = Store.open(dir);
    new Outbox(s1, { job: async () => 1 }, log).enqueue('k2', 'job', { x: 1 });
    s1.close();
    const s2 = Store.open(dir);
    const delivered: unknown[] = [];
    const o2 = new Outbox(s2, { job: async (a) => delivered.push(a.payload) }, log);
    await o2.runDue();
    expect(delivered).toEqual([{ x: 1 }]);
    s2.close();
  });

  it('joins a delivery already under way instead of running the handler twice', async () => {
    const store = Store.open(mkdtempSync(join(tmpdir(), 'ob-')));
    let runs = 0;
    const outbox = new Outbox(store, { job: async () => new Promise((r) => setTimeout(() => r(++runs), 50)) }, log);
    const item = outbox.enqueue('k3', 'job', {});
    await Promise.all([outbox.deliver(item.id), outbox.deliver(item.id), outbox.runDue()]);
    expect(runs).toBe(1);
    store.close();
  });
});

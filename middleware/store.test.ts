import { TestStores } from '../testing/stores';
import type { Store } from './store';
import type { PostgresDb } from './store-postgres';

/** The store's contract, on both databases: what one node relies on, and what two nodes on PostgreSQL rely on. */
const stores = new TestStores();
afterEach(() => stores.cleanup());
afterAll(() => stores.stop());

describe.each(['sqlite', 'postgres'] as const)('Store on %s', (kind) => {
  it('claims a key once, lists a prefix in key order, and prunes only old keys of a prefix', async () => {
    const store = await stores.open(kind);
    expect(await store.claimKv('click.seen.a', 1)).toBe(true);
    expect(await store.claimKv('click.seen.a', 2)).toBe(false);
    expect(await store.getKv('click.seen.a')).toBe(1);
    await store.setKv('click.seen.b', { n: 'б' });
    await store.setKv('click.seen', 0); // the prefix itself without its dot is not in it
    await store.setKv('other.c', 1);
    expect(await store.kvWithPrefix('click.seen.')).toEqual([
      { key: 'click.seen.a', value: 1 },
      { key: 'click.seen.b', value: { n: 'б' } },
    ]);
    await store.db.run('UPDATE kv SET updated_at = 0');
    await store.setKv('click.seen.fresh', 1);
    expect(await store.pruneKv('click.seen.', 60_000)).toBe(2);
    expect([await store.getKv('click.seen.a'), await store.getKv('click.seen.fresh'), await store.getKv('other.c')]).toEqual([null, 1, 1]);
    await store.deleteKv('other.c');
    expect(await store.getKv('other.c')).toBeNull();
  });

  it('runs work under one name one at a time, across two nodes on the same store', async () => {
    const a = await stores.open(kind);
    const b = kind === 'postgres' ? await stores.open(kind, a) : a; // SQLite: one process owns the folder
    const log: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const first = a.exclusive('refresh', async () => {
      log.push('a in');
      entered();
      await held;
      log.push('a out');
    });
    await inside;
    const second = b.exclusive('refresh', async () => {
      log.push('b in');
    });
    const other = b.exclusive('another-name', async () => {
      log.push('other');
    });
    await other; // a different name does not wait
    release();
    await Promise.all([first, second]);
    expect(log).toEqual(['a in', 'other', 'a out', 'b in']);
  });
});

describe('Store on postgres, two nodes', () => {
  it('a claim is won by exactly one of many concurrent callers on two nodes', async () => {
    const a = await stores.open('postgres');
    const b = await stores.open('postgres', a);
    const wins = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).claimKv('lead.claim', i)));
    expect(wins.filter(Boolean)).toHaveLength(1);
  });

  it('tells the other nodes, not itself', async () => {
    const a = await stores.open('postgres');
    const b = await stores.open('postgres', a);
    const got: Array<{ at: string; data: unknown; from: string }> = [];
    let heard!: () => void;
    const bHeard = new Promise<void>((r) => (heard = r));
    let aHeard!: () => void;
    const aHeardB = new Promise<void>((r) => (aHeard = r));
    a.subscribe('topic', (data, from) => {
      got.push({ at: 'a', data, from });
      if (from === b.nodeId) aHeard();
    });
    b.subscribe('topic', (data, from) => {
      got.push({ at: 'b', data, from });
      heard();
    });
    await Promise.all([listening(a), listening(b)]);
    await a.publish('topic', { n: 1 });
    await bHeard;
    // Notifications arrive in order: once a hears b's, a would have heard its own earlier one.
    await b.publish('topic', { n: 2 });
    await aHeardB;
    expect(got).toEqual([
      { at: 'b', data: { n: 1 }, from: a.nodeId },
      { at: 'a', data: { n: 2 }, from: b.nodeId },
    ]);
  });
});

/** The LISTEN connection opens in the background after the store does: a test waits for it. */
const listening = (s: Store) => (s.db as PostgresDb).whenListening();

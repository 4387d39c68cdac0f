import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from './store';

describe('Store kv', () => {
  it('claims a key once, and prunes only old keys of a prefix', () => {
    const store = Store.open(mkdtempSync(join(tmpdir(), 'store-')));
    expect(store.claimKv('click.seen.a', 1)).toBe(true);
    expect(store.claimKv('click.seen.a', 2)).toBe(false);
    expect(store.getKv('click.seen.a')).toBe(1);
    store.setKv('click.seen.b', 1);
    store.setKv('other.c', 1);
    expect(store.kvWithPrefix<number>('click.seen.')).toEqual([{ key: 'click.seen.a', value: 1 }, { key: 'click.seen.b', value: 1 }]);
    store.db.prepare('UPDATE kv SET updated_at = 0').run();
    store.setKv('click.seen.fresh', 1);
    expect(store.pruneKv('click.seen.', 60_000)).toBe(2);
    expect([store.getKv('click.seen.a'), store.getKv('click.seen.fresh'), store.getKv('other.c')]).toEqual([null, 1, 1]);
    store.close();
  });
});

import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestStores } from '../testing/stores';
import { Store } from './store';
import { MIGRATIONS, SCHEMA_VERSION, StoreTooNewError, pendingMigrations } from './store-migrations';
import { PostgresDb } from './store-postgres';
import { SqliteDb } from './store-sqlite';

const FIXTURE = readFileSync(join(__dirname, '../testing/fixtures/store-schema-0.sqlite.sql'), 'utf8');
const stores = new TestStores();
const dirs: string[] = [];
afterEach(async () => {
  await stores.cleanup();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(() => stores.stop());

function folderWith(sql: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrate-'));
  dirs.push(dir);
  const db = new Database(join(dir, 'connector.db'));
  db.exec(sql);
  db.close();
  return dir;
}

describe('schema migrations', () => {
  it('are numbered 1, 2, 3… without gaps; a store newer than the code is refused by name', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(pendingMigrations(SCHEMA_VERSION)).toEqual([]);
    expect(() => pendingMigrations(SCHEMA_VERSION + 1)).toThrow(StoreTooNewError);
    expect(() => pendingMigrations(SCHEMA_VERSION + 1)).toThrow(`the store has schema ${SCHEMA_VERSION + 1}, this version of finesse-bitrix24 knows up to ${SCHEMA_VERSION}`);
  });

  it('upgrade the oldest store (0.1.0, no migrations recorded) and lose nothing: jobs, installation, dedupe marks', async () => {
    const dir = folderWith(FIXTURE);
    const store = new Store(new SqliteDb(dir));
    try {
      await store.db.migrate();
      expect(await (store.db as SqliteDb).schemaVersion()).toBe(SCHEMA_VERSION);
      const jobs = await store.db.all<{ key: string; state: string; attempts: number; lease_until: number | null }>('SELECT key, state, attempts, lease_until FROM outbox ORDER BY id');
      expect(jobs).toEqual([
        { key: 'lead:79990000001', state: 'pending', attempts: 0, lease_until: null },
        { key: 'call.register:1021-16777302', state: 'pending', attempts: 3, lease_until: null },
        { key: 'missed:16777303', state: 'pending', attempts: 0, lease_until: null },
        { key: 'lead:79990000002', state: 'done', attempts: 1, lease_until: null },
      ]);
      expect(await store.getKv('bitrix24.installation')).toMatchObject({ memberId: 'm0', applicationToken: 't0' });
      for (const mark of ['click.seen.externalCall.0a.1700000000', 'call.record.1021-16777301', 'popped.1001.16777301']) expect(await store.getKv(mark)).not.toBeNull();
      // What moved out is gone from here.
      expect(await store.getKv('phoneIndex.state')).toBeNull();
      expect(await store.db.all(`SELECT name FROM sqlite_master WHERE name LIKE 'phone_index%'`)).toEqual([]);
      // Starting again changes nothing and records nothing twice.
      await store.db.migrate();
      expect(await store.db.all('SELECT version FROM schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    } finally {
      await store.close();
    }
  });

  it('a store a newer version wrote is refused, untouched', async () => {
    const dir = folderWith(
      `${FIXTURE}; CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL); INSERT INTO schema_migrations VALUES (${SCHEMA_VERSION + 1}, 'from the future', 1);`,
    );
    const store = new Store(new SqliteDb(dir));
    try {
      await expect(store.db.migrate()).rejects.toThrow(StoreTooNewError);
      expect(await store.db.all(`SELECT name FROM sqlite_master WHERE name = 'phone_index'`)).toEqual([{ name: 'phone_index' }]);
    } finally {
      await store.close();
    }
  });

  it('PostgreSQL: two nodes starting together on a store from before migrations migrate it once, and keep its jobs', async () => {
    const url = await stores.postgresUrl();
    // The first PostgreSQL store (0.1.0): kv and the outbox with leases, no schema_migrations.
    const old = new PostgresDb(url);
    const seed = await import('pg');
    const c = new seed.default.Client({ connectionString: url });
    await c.connect();
    await c.query(`CREATE TABLE kv (key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL, updated_at BIGINT NOT NULL);
      CREATE TABLE outbox (id BIGSERIAL PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('pending', 'done')), attempts INTEGER NOT NULL DEFAULT 0, next_at BIGINT NOT NULL, last_error TEXT, result TEXT, created_at BIGINT NOT NULL, done_at BIGINT, lease_until BIGINT, lease_owner TEXT);
      INSERT INTO outbox (key, kind, payload, state, next_at, created_at) VALUES ('lead:79990000001', 'lead.ensure', '{}', 'pending', 1, 1);
      INSERT INTO kv VALUES ('bitrix24.installation', '{"memberId":"m0"}', 1);`);
    await c.end();
    await old.close();
    const a = new Store(new PostgresDb(url));
    const b = new Store(new PostgresDb(url));
    try {
      await Promise.all([a.db.migrate(), b.db.migrate()]);
      expect(await a.db.all('SELECT version FROM schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
      expect(await a.db.all(`SELECT key, state FROM outbox`)).toEqual([{ key: 'lead:79990000001', state: 'pending' }]);
      expect(await b.getKv('bitrix24.installation')).toEqual({ memberId: 'm0' });
      // A newer store: refused by name, not taken for "PostgreSQL unavailable".
      await a.db.run(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', 1)`, [SCHEMA_VERSION + 1]);
      const c2 = new Store(new PostgresDb(url));
      await expect(c2.db.migrate()).rejects.toThrow(StoreTooNewError);
      await c2.close();
    } finally {
      await a.close();
      await b.close();
    }
  });
});

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NamedQueue, Store, StoreUnavailableError, type SqlDb } from './store';

/** The longest the event loop may wait for a lock another process holds on the store. */
export const BUSY_TIMEOUT_MS = 25;

/**
 * The embedded store: `DATA_DIR/connector.db`, for one node. WAL + synchronous=FULL: a row written before we answer
 * survives a crash of the process or the host. better-sqlite3 is synchronous and fast (microseconds per statement),
 * so its calls are wrapped in promises only to share the interface with PostgreSQL.
 */
export class SqliteDb implements SqlDb {
  readonly dialect = 'sqlite' as const;
  readonly db: Database.Database;
  /** One node owns DATA_DIR: its locks are promises in this process. */
  private readonly locks = new NamedQueue();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.db = new Database(join(dir, 'connector.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // better-sqlite3 waits for a lock synchronously: every other request would wait with it. So a lock held by
    // another process (a backup, a sqlite3 shell) fails fast with SQLITE_BUSY, and the callers cope: the outbox
    // tries on its next tick, a lookup keeps its lead job in memory until the store takes it.
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }

  async migrate(): Promise<void> {
    this.guard(() => {
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS kv (
          key TEXT PRIMARY KEY,
          value TEXT NOT NULL,
          updated_at INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS outbox (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          key TEXT NOT NULL UNIQUE,
          kind TEXT NOT NULL,
          payload TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
          attempts INTEGER NOT NULL DEFAULT 0,
          next_at INTEGER NOT NULL,
          last_error TEXT,
          result TEXT,
          created_at INTEGER NOT NULL,
          done_at INTEGER
        );
        CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_at);
      `);
      // Leases came with PostgreSQL (outbox.ts); a store from an earlier version gets the columns.
      const cols = new Set((this.db.prepare('PRAGMA table_info(outbox)').all() as Array<{ name: string }>).map((c) => c.name));
      if (!cols.has('lease_until')) this.db.exec('ALTER TABLE outbox ADD COLUMN lease_until INTEGER; ALTER TABLE outbox ADD COLUMN lease_owner TEXT;');
      // The phone index moved to its own file (phone-index.sqlite): its old tables here are dead weight.
      this.db.exec('DROP TABLE IF EXISTS phone_index; DROP TABLE IF EXISTS phone_index_record; DROP TABLE IF EXISTS phone_index_user;');
      this.db.prepare(`DELETE FROM kv WHERE key = 'phoneIndex.state'`).run();
    });
  }

  async all<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    return this.guard(() => this.db.prepare(sql).all(...params) as R[]);
  }

  async run(sql: string, params: unknown[] = []): Promise<number> {
    return this.guard(() => this.db.prepare(sql).run(...params).changes);
  }

  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(name, fn);
  }

  async publish(): Promise<void> {
    // One node: nobody else to tell.
  }

  onMessage(): void {}

  describe(): Record<string, unknown> {
    return { kind: 'sqlite', dataDir: this.dir };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      // SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock; the same write may succeed a moment later.
      if (/^SQLITE_(BUSY|LOCKED)/.test(String((err as { code?: unknown })?.code ?? ''))) throw new StoreUnavailableError(`the store is locked by another process (${(err as Error).message})`, err);
      throw err;
    }
  }
}

/** The embedded store in this folder, its tables created (tests and tools; the connector migrates at start). */
export async function openSqliteStore(dir: string): Promise<Store> {
  const db = new SqliteDb(dir);
  await db.migrate();
  return new Store(db);
}

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NamedQueue, Store, StoreUnavailableError, type SqlDb } from './store';
import { MIGRATIONS_TABLE, pendingMigrations } from './store-migrations';

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

  /** Applies the migrations this store lacks (store-migrations.ts) in one write transaction: BEGIN IMMEDIATE takes the file's lock. */
  async migrate(): Promise<void> {
    this.guard(() =>
      this.db
        .transaction(() => {
          this.db.exec(MIGRATIONS_TABLE);
          const applied = Number((this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v);
          const has = { column: (table: string, column: string) => (this.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).some((c) => c.name === column) };
          for (const m of pendingMigrations(applied)) {
            const sql = typeof m.sqlite === 'string' ? m.sqlite : m.sqlite(has);
            if (sql.trim()) this.db.exec(sql);
            this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
          }
        })
        .immediate(),
    );
  }

  /** The schema version the store is at (0 before any migration was recorded). */
  async schemaVersion(): Promise<number> {
    return this.guard(() => {
      const has = this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get();
      return has ? Number((this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v) : 0;
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

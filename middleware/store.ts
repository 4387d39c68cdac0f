import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The embedded store in DATA_DIR: OAuth tokens (kv) and the outbox with its idempotency keys.
 * WAL + synchronous=FULL: a row written before we answer survives a crash of the process or the host.
 */
/** The longest the event loop may wait for a lock another process holds on the store. */
export const BUSY_TIMEOUT_MS = 25;

/** SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock; the same write may succeed a moment later. */
export function isBusy(err: unknown): boolean {
  return /^SQLITE_(BUSY|LOCKED)/.test(String((err as { code?: unknown })?.code ?? ''));
}

export class Store {
  readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  static open(dir: string): Store {
    mkdirSync(dir, { recursive: true });
    const db = new Database(join(dir, 'connector.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    // better-sqlite3 waits for a lock synchronously: every other request would wait with it. So a lock held by
    // another process (a backup, a sqlite3 shell) fails fast with SQLITE_BUSY, and the callers cope: the outbox
    // tries on its next tick, a lookup keeps its lead job in memory until the store takes it (isBusy below).
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.exec(`
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
    return new Store(db);
  }

  getKv<T>(key: string): T | null {
    const row = this.db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : null;
  }

  setKv(key: string, value: unknown): void {
    this.db
      .prepare('INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at')
      .run(key, JSON.stringify(value), Date.now());
  }

  /** Sets the key only if absent; true when this call set it (a claim no concurrent caller also wins). */
  claimKv(key: string, value: unknown): boolean {
    return this.db.prepare('INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING').run(key, JSON.stringify(value), Date.now()).changes === 1;
  }

  /** Every key with this prefix, with its value (keys sort, so a prefix is a range of the primary key). */
  kvWithPrefix<T>(prefix: string): Array<{ key: string; value: T }> {
    const rows = this.db.prepare('SELECT key, value FROM kv WHERE key >= ? AND key < ?').all(prefix, `${prefix}\uffff`) as Array<{ key: string; value: string }>;
    return rows.map((r) => ({ key: r.key, value: JSON.parse(r.value) as T }));
  }

  /** Drops keys with this prefix not written for `olderThanMs` (dedupe marks that can no longer matter). */
  pruneKv(prefix: string, olderThanMs: number): number {
    return this.db.prepare('DELETE FROM kv WHERE key >= ? AND key < ? AND updated_at < ?').run(prefix, `${prefix}\uffff`, Date.now() - olderThanMs).changes;
  }

  deleteKv(key: string): void {
    this.db.prepare('DELETE FROM kv WHERE key = ?').run(key);
  }

  ping(): void {
    this.db.prepare('SELECT 1').get();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

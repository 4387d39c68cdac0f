import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresServer } from './postgres-server';
import { Store } from '../middleware/store';
import { PostgresDb } from '../middleware/store-postgres';
import { SqliteDb } from '../middleware/store-sqlite';

/**
 * The store's two databases for tests that must hold on both: the embedded SQLite (a fresh folder each) and a
 * throwaway PostgreSQL (one server per test file, a fresh database each). `opened` stores are closed and their
 * folders and databases dropped by `cleanup()`.
 */
export class TestStores {
  private server: PostgresServer | null = null;
  private readonly opened: Store[] = [];
  private readonly dirs: string[] = [];
  private dbs = 0;
  private readonly where = new Map<Store, string>();

  async postgresUrl(): Promise<string> {
    if (!this.server) {
      this.server = new PostgresServer();
      await this.server.start();
    }
    const name = `t${++this.dbs}`;
    const admin = new pg.Client({ connectionString: this.server.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    return this.server.url.replace(/\/[^/]+$/, `/${name}`);
  }

  /** A fresh store of this kind; `sameAs`: a second node (or process) on that store's database. */
  async open(kind: 'sqlite' | 'postgres', sameAs?: Store): Promise<Store> {
    const known = sameAs && this.where.get(sameAs);
    let store: Store;
    let at: string;
    if (kind === 'sqlite') {
      at = known ?? mkdtempSync(join(tmpdir(), 'store-'));
      if (!known) this.dirs.push(at);
      store = new Store(new SqliteDb(at));
    } else {
      at = known ?? (await this.postgresUrl());
      store = new Store(new PostgresDb(at));
    }
    this.where.set(store, at);
    await store.db.migrate();
    this.opened.push(store);
    return store;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.opened.splice(0).map((s) => s.close()));
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    await this.cleanup();
    await this.server?.stop();
    this.server = null;
  }
}

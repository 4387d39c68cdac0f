import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { NamedError } from '../protocol/named-error';

/**
 * The store every node shares: key-value state (OAuth tokens, dedupe marks, watermarks) and the outbox. One
 * interface, two databases: the embedded SQLite in DATA_DIR (the default, one node) and PostgreSQL
 * (DATABASE_URL, two or more nodes). The SQL is written once with `?` placeholders; each database adapter
 * (store-sqlite.ts, store-postgres.ts) runs it, and adds what only it can do: a lock across nodes and a message
 * bus between them.
 */
export interface SqlDb {
  readonly dialect: 'sqlite' | 'postgres';
  /** Creates or upgrades the tables. */
  migrate(): Promise<void>;
  all<R>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Rows changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  /** Runs `fn` while no other caller on any node runs one under the same name (released if this node dies). */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Sends a message to every other node (nothing to send to with one node). */
  publish(message: string): Promise<void>;
  onMessage(handler: (message: string) => void): void;
  /** Where the store is, for /readyz (never a password). */
  describe(): Record<string, unknown>;
  close(): Promise<void>;
}

/**
 * The database cannot be reached, or another process holds its lock, right now: the same call may succeed a moment
 * later. The adapters throw it for exactly those cases; callers fail open (a lookup routes to the queue, a request
 * answers 503 so its sender retries) and never take it for an answer.
 */
export class StoreUnavailableError extends NamedError {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }
}

export function isUnavailable(err: unknown): boolean {
  return err instanceof StoreUnavailableError;
}

/** Runs `fn` after every earlier call under the same name in this process has ended (a promise queue per name). */
export class NamedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(name) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const tail = mine.catch(() => undefined);
    this.tails.set(name, tail);
    void tail.then(() => {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    });
    return mine;
  }
}

/** What a node is called in leases and bus messages: readable in logs (host, pid), unique per opened store. */
export const newNodeId = () => `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;

type Listener = (data: unknown, from: string) => void;

export class Store {
  private readonly topics = new Map<string, Set<Listener>>();
  readonly nodeId = newNodeId();

  constructor(readonly db: SqlDb) {
    db.onMessage((raw) => {
      let msg: { from?: string; topic?: string; data?: unknown };
      try {
        msg = JSON.parse(raw) as typeof msg;
      } catch {
        return;
      }
      if (msg.from === this.nodeId || typeof msg.topic !== 'string') return;
      for (const l of this.topics.get(msg.topic) ?? []) l(msg.data, String(msg.from));
    });
  }

  get kind(): SqlDb['dialect'] {
    return this.db.dialect;
  }

  /** Whether other nodes share this store (PostgreSQL): they hear what we publish, and may hold work of ours. */
  get shared(): boolean {
    return this.db.dialect === 'postgres';
  }

  async getKv<T>(key: string): Promise<T | null> {
    const [row] = await this.db.all<{ value: string }>('SELECT value FROM kv WHERE key = ?', [key]);
    return row ? (JSON.parse(row.value) as T) : null;
  }

  async setKv(key: string, value: unknown): Promise<void> {
    await this.db.run('INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at', [
      key,
      JSON.stringify(value),
      Date.now(),
    ]);
  }

  /** Sets the key only if absent; true when this call set it (a claim no concurrent caller, on any node, also wins). */
  async claimKv(key: string, value: unknown): Promise<boolean> {
    return (await this.db.run('INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING', [key, JSON.stringify(value), Date.now()])) === 1;
  }

  /** Every key with this prefix, with its value (keys sort bytewise, so a prefix is a range of the primary key). */
  async kvWithPrefix<T>(prefix: string): Promise<Array<{ key: string; value: T }>> {
    const rows = await this.db.all<{ key: string; value: string }>('SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key', [prefix, `${prefix}\uffff`]);
    return rows.map((r) => ({ key: r.key, value: JSON.parse(r.value) as T }));
  }

  /** Drops keys with this prefix not written for `olderThanMs` (dedupe marks that can no longer matter). */
  pruneKv(prefix: string, olderThanMs: number): Promise<number> {
    return this.db.run('DELETE FROM kv WHERE key >= ? AND key < ? AND updated_at < ?', [prefix, `${prefix}\uffff`, Date.now() - olderThanMs]);
  }

  async deleteKv(key: string): Promise<void> {
    await this.db.run('DELETE FROM kv WHERE key = ?', [key]);
  }

  /** Runs `fn` while no other node runs one under this name (the Bitrix24 token refresh). */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.db.exclusive(name, fn);
  }

  /** Tells the other nodes (click-to-dial commands and their outcomes, CRM changes, a new token). */
  async publish(topic: string, data: unknown): Promise<void> {
    await this.db.publish(JSON.stringify({ from: this.nodeId, topic, data }));
  }

  subscribe(topic: string, listener: Listener): void {
    let set = this.topics.get(topic);
    if (!set) this.topics.set(topic, (set = new Set()));
    set.add(listener);
  }

  async ping(): Promise<void> {
    await this.db.all('SELECT 1 AS one');
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

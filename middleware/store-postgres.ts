import pg from 'pg';
import { NamedQueue, StoreUnavailableError, type SqlDb } from './store';
import { MIGRATIONS_TABLE, pendingMigrations, StoreTooNewError } from './store-migrations';

/** The channel the nodes talk on (LISTEN/NOTIFY). */
const CHANNEL = 'fb24_nodes';
/** How long a node waits for PostgreSQL before it answers without it (a lookup's deadline is longer than this). */
const CONNECT_TIMEOUT_MS = 2000;
const STATEMENT_TIMEOUT_MS = 5000;
/** A lost LISTEN connection is opened again this soon. */
const RELISTEN_MS = 1000;

/** SQLSTATE classes that mean "not now" rather than "wrong": connection, resources, operator, lock timeouts. */
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58']);
const UNAVAILABLE_CODES = new Set(['55P03', '40001', '40P01']);

function unavailable(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? '');
  if (/^[0-9A-Z]{5}$/.test(code)) return UNAVAILABLE_CLASSES.has(code.slice(0, 2)) || UNAVAILABLE_CODES.has(code);
  // No SQLSTATE: the connection itself (refused, reset, timed out, pool closed while waiting).
  return true;
}

/** `?` placeholders (the store's SQL is written once, for both databases) as PostgreSQL's `$n`. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Where the store is, without the password. */
function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/**
 * The store on PostgreSQL (DATABASE_URL), shared by every node: a pool for statements, one more connection that
 * LISTENs for the other nodes' messages, and transaction-scoped advisory locks for work only one node may do at a
 * time (released by the server when a node dies, so a killed node never holds a lock).
 */
export class PostgresDb implements SqlDb {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  /**
   * Connections that hold advisory locks, apart from the statements' pool: work done under a lock takes its
   * statements from the other pool, so locks waiting never starve the work that would release them.
   */
  private readonly lockPool: pg.Pool;
  /** This node's own queue per lock name: one connection per name waits at the server, not one per caller. */
  private readonly local = new NamedQueue();
  private readonly handlers: Array<(message: string) => void> = [];
  private listener: pg.Client | null = null;
  private listening = false;
  private readonly onListening: Array<() => void> = [];
  private relisten: NodeJS.Timeout | null = null;
  private closed = false;
  /** Set once the tables exist; before, every statement is "unavailable" (the node serves, failing open). */
  private migrated = false;
  /** BIGINT columns hold milliseconds since 1970 (safe integers): read them as numbers, not strings. */
  private readonly types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')),
  };

  constructor(
    private readonly url: string,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: 10,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      types: this.types,
    });
    this.lockPool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 4 * CONNECT_TIMEOUT_MS, idleTimeoutMillis: 30_000, types: this.types });
    // An idle client that loses its server must not crash the process: the next statement gets a fresh one.
    this.pool.on('error', (err) => this.onError(err));
    this.lockPool.on('error', (err) => this.onError(err));
  }

  async migrate(): Promise<void> {
    // Two nodes starting at once: one creates, the other waits for it (CREATE … IF NOT EXISTS races otherwise).
    if (this.migrated) return;
    await this.exclusive('schema', () =>
      this.guard(async () => {
        // One transaction: a node killed halfway leaves the store as it was, and the next start does it all.
        const client = await this.pool.connect();
        try {
          await client.query('BEGIN');
          await client.query(MIGRATIONS_TABLE);
          const { rows } = await client.query<{ v: number }>('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations');
          for (const m of pendingMigrations(Number(rows[0]!.v))) {
            if (m.postgres.trim()) await client.query(m.postgres);
            await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
          }
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        } finally {
          client.release();
        }
      }),
    );
    this.migrated = true;
    this.listen();
  }

  async all<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.query(sql, params)).rows as R[];
  }

  async run(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.query(sql, params)).rowCount ?? 0;
  }

  private query(sql: string, params: unknown[]): Promise<pg.QueryResult> {
    if (!this.migrated) return Promise.reject(new StoreUnavailableError('PostgreSQL has not been reached yet since the start'));
    return this.guard(() => this.pool.query(numbered(sql), params));
  }

  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.local.run(name, () => this.acrossNodes(name, fn));
  }

  private async acrossNodes<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const client = await this.guard(() => this.lockPool.connect());
    try {
      await this.guard(async () => {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`fb24:${name}`]);
      });
      try {
        return await fn();
      } finally {
        await client.query('COMMIT').catch(() => undefined);
      }
    } finally {
      client.release();
    }
  }

  async publish(message: string): Promise<void> {
    await this.all('SELECT pg_notify(?, ?)', [CHANNEL, message]);
  }

  onMessage(handler: (message: string) => void): void {
    this.handlers.push(handler);
  }

  /** Resolves once this node hears the others (messages sent before are not heard). */
  whenListening(): Promise<void> {
    return this.listening ? Promise.resolve() : new Promise((r) => this.onListening.push(r));
  }

  describe(): Record<string, unknown> {
    return {
      kind: 'postgres',
      url: redacted(this.url),
      migrated: this.migrated,
      listening: this.listening,
      pool: { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.relisten) clearTimeout(this.relisten);
    const l = this.listener;
    this.listener = null;
    await l?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    await this.lockPool.end().catch(() => undefined);
  }

  /** Holds one connection that LISTENs; opened again after it is lost (a PostgreSQL restart, a network cut). */
  private listen(): void {
    if (this.closed || this.listener) return;
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, types: this.types });
    const retry = (err?: Error) => {
      if (err) this.onError(err);
      if (this.listener === client) {
        this.listener = null;
        this.listening = false;
      }
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (!this.closed && !this.relisten) {
        this.relisten = setTimeout(() => {
          this.relisten = null;
          this.listen();
        }, RELISTEN_MS);
        this.relisten.unref();
      }
    };
    client.on('error', retry);
    client.on('end', () => retry());
    client.on('notification', (n) => {
      if (n.channel === CHANNEL && n.payload) for (const h of this.handlers) h(n.payload);
    });
    this.listener = client;
    client
      .connect()
      .then(() => client.query(`LISTEN ${CHANNEL}`))
      .then(() => {
        if (this.listener !== client) return;
        this.listening = true;
        for (const f of this.onListening.splice(0)) f();
      })
      .catch((err: Error) => retry(err));
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreTooNewError) throw err; // not "unavailable": no retry makes this store older
      if (unavailable(err)) throw new StoreUnavailableError(`PostgreSQL is unavailable: ${(err as Error).message}`, err);
      throw err;
    }
  }
}

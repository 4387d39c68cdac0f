import { CcdrError, INFORMIX_DIALECT, SQLITE_DIALECT, type CcdrSource, type Dialect, type Row } from './ccdr-source';

/**
 * UCCX's Informix through unixODBC and IBM's Informix ODBC driver (the `informix` npm driver does not build on
 * Node 20; github.com/IBM/node-odbc). The `odbc` package hands DATETIME over as strings, untouched: UTC as stored.
 * The same adapter runs in tests against Debian's SQLite ODBC driver, so the production code path is exercised
 * for real; the SQL dialect follows the driver.
 */
export interface OdbcConnection {
  query(sql: string, params?: Array<string | number>, options?: { timeout?: number }): Promise<Row[]>;
  /** For a pooled connection: back to the pool (the same object is handed out again). */
  close(): Promise<void>;
}
interface OdbcPool {
  connect(): Promise<OdbcConnection>;
  close(): Promise<void>;
}
export interface OdbcModule {
  pool(options: { connectionString: string; connectionTimeout?: number; loginTimeout?: number; initialSize?: number; maxSize?: number }): Promise<OdbcPool>;
}

function loadOdbc(): OdbcModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('odbc') as OdbcModule;
  } catch (err) {
    throw new CcdrError(`the odbc package is not available (${(err as Error).message.split('\n')[0]}): apt-get install unixodbc-dev, then npm rebuild odbc`);
  }
}

export function dialectFor(connection: string): Dialect {
  return /(^|;)\s*Driver\s*=\s*\{?SQLite/i.test(connection) ? SQLITE_DIALECT : INFORMIX_DIALECT;
}

/**
 * Each Informix connection first reads what is committed without waiting for UCCX's writers (IBM: `SET ISOLATION TO
 * COMMITTED READ LAST COMMITTED`, Informix 11.50 and later), else — an engine without it — uncommitted rows (`DIRTY
 * READ`), and waits a bounded time for a lock instead of failing at once (`SET LOCK MODE TO WAIT n`; the default is
 * NOT WAIT: error -244 on a row UCCX is writing).
 */
export const ISOLATION_MODES = ['SET ISOLATION TO COMMITTED READ LAST COMMITTED', 'SET ISOLATION TO DIRTY READ'] as const;

export class OdbcCcdrSource implements CcdrSource {
  readonly dialect: Dialect;
  private pool: Promise<OdbcPool> | null = null;
  private readonly prepared = new WeakSet<OdbcConnection>();
  /** The isolation statement the last new connection accepted (ccdr-check prints it); null before one was made. */
  isolation: string | null = null;

  constructor(
    private readonly connection: string,
    private readonly timeoutMs: number,
    private readonly odbc: () => OdbcModule = loadOdbc,
  ) {
    this.dialect = dialectFor(connection);
  }

  private get seconds(): number {
    return Math.max(1, Math.ceil(this.timeoutMs / 1000));
  }

  /** The session settings of a new Informix connection (see ISOLATION_MODES). */
  private async prepare(c: OdbcConnection): Promise<void> {
    if (this.prepared.has(c) || this.dialect.name !== 'informix') return;
    let accepted: string | null = null;
    const refused: string[] = [];
    for (const mode of ISOLATION_MODES) {
      try {
        await c.query(mode);
        accepted = mode;
        break;
      } catch (err) {
        refused.push(`${mode}: ${odbcMessage(err as Error)}`);
      }
    }
    if (!accepted) throw new CcdrError(`the database refused every isolation level: ${refused.join('; ')}`);
    await c.query(`SET LOCK MODE TO WAIT ${Math.min(10, this.seconds)}`);
    this.isolation = accepted;
    this.prepared.add(c);
  }

  private open(): Promise<OdbcPool> {
    if (!this.pool) {
      const seconds = this.seconds;
      this.pool = Promise.resolve()
        .then(() => this.odbc().pool({ connectionString: this.connection, connectionTimeout: seconds, loginTimeout: seconds, initialSize: 1, maxSize: 2 }))
        .catch((err: Error) => {
          this.pool = null; // try again next time: the database may come back
          throw err instanceof CcdrError ? err : new CcdrError(`cannot connect: ${odbcMessage(err)}`, true);
        });
    }
    return this.pool;
  }

  async query(sql: string, params: Array<string | number>): Promise<Row[]> {
    const pool = await this.open();
    let c: OdbcConnection;
    try {
      c = await pool.connect();
    } catch (err) {
      throw new CcdrError(`cannot connect: ${odbcMessage(err as Error)}`, true);
    }
    try {
      await this.prepare(c);
      // The driver's query timeout (SQL_ATTR_QUERY_TIMEOUT) asks the server to stop a statement past the deadline,
      // so it does not hold this connection; Debian's SQLite ODBC driver ignores it, IBM's driver implements it.
      const rows = await c.query(sql, params, { timeout: this.seconds });
      return [...rows].map((r) => ({ ...r }));
    } catch (err) {
      throw err instanceof CcdrError ? err : new CcdrError(`query failed: ${odbcMessage(err as Error)}`, connectionLost(err as OdbcFailure));
    } finally {
      await c.close().catch(() => undefined);
    }
  }

  async ping(): Promise<void> {
    await this.query(this.dialect.name === 'informix' ? 'SELECT FIRST 1 1 AS ok FROM systables' : 'SELECT 1 AS ok', []);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await (await pool.catch(() => null))?.close();
  }
}

type OdbcFailure = Error & { odbcErrors?: Array<{ message?: string; state?: string }> };

/** SQLSTATE class 08: the connection failed or was lost (ODBC's "communication link failure" is 08S01). */
function connectionLost(err: OdbcFailure): boolean {
  return (err.odbcErrors ?? []).some((e) => /^08/.test(e.state ?? ''));
}

/** odbc errors carry the driver's messages in `odbcErrors`; never the connection string (it holds the password). */
function odbcMessage(err: OdbcFailure): string {
  const details = (err.odbcErrors ?? []).map((e) => e.message).filter(Boolean);
  return details.length ? details.join('; ') : err.message;
}

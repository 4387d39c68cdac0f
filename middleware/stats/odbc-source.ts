import { CcdrError, INFORMIX_DIALECT, SQLITE_DIALECT, type CcdrSource, type Dialect, type Row } from './ccdr-source';

/**
 * UCCX's Informix through unixODBC and IBM's Informix ODBC driver (the `informix` npm driver does not build on
 * Node 20; reference uccx.md §8). The `odbc` package hands DATETIME over as strings, untouched: UTC as stored.
 * The same adapter runs in tests against Debian's SQLite ODBC driver, so the production code path is exercised
 * for real; the SQL dialect follows the driver.
 */
interface OdbcPool {
  query(sql: string, params?: Array<string | number>): Promise<Row[]>;
  close(): Promise<void>;
}
interface OdbcModule {
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

export class OdbcCcdrSource implements CcdrSource {
  readonly dialect: Dialect;
  private pool: Promise<OdbcPool> | null = null;

  constructor(
    private readonly connection: string,
    private readonly timeoutMs: number,
  ) {
    this.dialect = dialectFor(connection);
  }

  private open(): Promise<OdbcPool> {
    if (!this.pool) {
      const seconds = Math.max(1, Math.ceil(this.timeoutMs / 1000));
      this.pool = Promise.resolve()
        .then(() => loadOdbc().pool({ connectionString: this.connection, connectionTimeout: seconds, loginTimeout: seconds, initialSize: 1, maxSize: 2 }))
        .catch((err: Error) => {
          this.pool = null; // try again next time: the database may come back
          throw err instanceof CcdrError ? err : new CcdrError(`cannot connect: ${odbcMessage(err)}`);
        });
    }
    return this.pool;
  }

  async query(sql: string, params: Array<string | number>): Promise<Row[]> {
    const pool = await this.open();
    try {
      const rows = await pool.query(sql, params);
      return [...rows].map((r) => ({ ...r }));
    } catch (err) {
      throw new CcdrError(`query failed: ${odbcMessage(err as Error)}`);
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

/** odbc errors carry the driver's messages in `odbcErrors`; never the connection string (it holds the password). */
function odbcMessage(err: Error & { odbcErrors?: Array<{ message?: string }> }): string {
  const details = (err.odbcErrors ?? []).map((e) => e.message).filter(Boolean);
  return details.length ? details.join('; ') : err.message;
}

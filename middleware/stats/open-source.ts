import { SQLITE_DIALECT, SqliteCcdrSource, type CcdrSource } from './ccdr-source';
import { OdbcCcdrSource } from './odbc-source';

/** The configured CCDR source. Opening is lazy for ODBC (the database may be down at start: lookups go on). */
export function openCcdrSource(source: { kind: 'sqlite'; path: string } | { kind: 'odbc'; connection: string }, queryTimeoutMs: number): CcdrSource {
  return source.kind === 'sqlite' ? new LazySqlite(source.path) : new OdbcCcdrSource(source.connection, queryTimeoutMs);
}

/** Opens the SQLite file on first use, so a missing file is a 503 on the report, not a failed start. */
class LazySqlite implements CcdrSource {
  private inner: SqliteCcdrSource | null = null;
  readonly dialect = SQLITE_DIALECT;
  constructor(private readonly path: string) {}
  private open(): SqliteCcdrSource {
    this.inner ??= new SqliteCcdrSource(this.path);
    return this.inner;
  }
  query(sql: string, params: Array<string | number>) {
    return Promise.resolve().then(() => this.open().query(sql, params));
  }
  ping() {
    return Promise.resolve().then(() => this.open().ping());
  }
  async close() {
    await this.inner?.close();
  }
}

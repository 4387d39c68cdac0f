import Database from 'better-sqlite3';
import { CCDR_SCHEMA } from './ccdr-schema';
import { SqliteReaders } from './sqlite-readers';
import { NamedError } from '../../protocol/named-error';

/**
 * Where the call records come from: UCCX's Informix through ODBC in production, or the embedded SQLite stand-in.
 * The reports' SQL is shared; what differs between the dialects is named in `Dialect`.
 */
export type Row = Record<string, string | number | null>;

export interface Dialect {
  readonly name: 'sqlite' | 'informix';
  /** A DATETIME bound as a parameter (UTC text). */
  datetimeParam: string;
  /** The DATETIME column as UTC text `YYYY-MM-DD HH:MM:SS.fff`. */
  datetimeText(column: string): string;
  /** `YYYY-MM-DD` of the column (UTC). */
  dayOf(column: string): string;
  /** `YYYY-MM-DD HH:` of the column (UTC). */
  hourPrefix(column: string): string;
  /** The minutes `MM` of the column (UTC). */
  minutes(column: string): string;
  /** A SELECT of at most `n` rows: `SELECT FIRST n …` in Informix, `… LIMIT n` in SQLite. */
  firstRows(select: string, n: number): string;
}

export const SQLITE_DIALECT: Dialect = {
  name: 'sqlite',
  datetimeParam: '?',
  datetimeText: (c) => c,
  dayOf: (c) => `substr(${c}, 1, 10)`,
  hourPrefix: (c) => `substr(${c}, 1, 14)`,
  minutes: (c) => `substr(${c}, 15, 2)`,
  firstRows: (select, n) => `${select} LIMIT ${Math.trunc(n)}`,
};

export const INFORMIX_DIALECT: Dialect = {
  name: 'informix',
  // A bare marker: Informix converts a character value in ANSI form ('YYYY-MM-DD HH:MM:SS.fff') compared with a
  // DATETIME column. A CAST around the marker leaves the driver nothing to describe (SQLDescribeParam fails).
  datetimeParam: '?',
  datetimeText: (c) => `TO_CHAR(${c}, '%Y-%m-%d %H:%M:%S%F3')`,
  dayOf: (c) => `TO_CHAR(${c}, '%Y-%m-%d')`,
  hourPrefix: (c) => `TO_CHAR(${c}, '%Y-%m-%d %H:')`,
  minutes: (c) => `TO_CHAR(${c}, '%M')`,
  firstRows: (select, n) => select.replace(/^\s*SELECT\s/i, `SELECT FIRST ${Math.trunc(n)} `),
};

export class CcdrError extends NamedError {
  /** The database could not be reached (no connection, or a lost one): another node may answer. */
  constructor(
    message: string,
    readonly unreachable = false,
  ) {
    super(message);
  }
}

export interface CcdrSource {
  readonly dialect: Dialect;
  query(sql: string, params: Array<string | number>): Promise<Row[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The embedded stand-in: read-only unless `writable` (the lab and tests fill it through `db`). Queries run on
 * read-only connections in worker threads (sqlite-readers.ts), never on the event loop.
 */
export class SqliteCcdrSource implements CcdrSource {
  readonly dialect = SQLITE_DIALECT;
  readonly db: Database.Database;
  private readonly readers: SqliteReaders;

  constructor(path: string, opts: { writable?: boolean } = {}) {
    try {
      this.db = new Database(path, { readonly: !opts.writable, fileMustExist: !opts.writable });
    } catch (err) {
      throw new CcdrError(`cannot open the CCDR database ${path}: ${(err as Error).message}`);
    }
    if (opts.writable) this.db.exec(CCDR_SCHEMA);
    this.readers = new SqliteReaders(path);
  }

  async query(sql: string, params: Array<string | number>): Promise<Row[]> {
    try {
      return await this.readers.query(sql, params);
    } catch (err) {
      throw new CcdrError(`CCDR query failed: ${(err as Error).message}`);
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1 AS ok', []);
  }

  async close(): Promise<void> {
    await this.readers.close();
    if (this.db.open) this.db.close();
  }
}

import { NamedError } from '../protocol/named-error';

/**
 * The store's schema as numbered migrations, recorded in the store itself (`schema_migrations`): a node starting
 * applies the ones its store lacks, in order, in one transaction under the store's lock (two nodes starting together
 * migrate once), and refuses a store a newer version wrote. A migration is never edited once released: a change is
 * a new one at the end. Each is written so that a store from before this table existed (version 0, its tables made
 * by `CREATE … IF NOT EXISTS` and ad-hoc `ALTER`s) comes out the same as a new one.
 */
export interface Migration {
  version: number;
  name: string;
  /** SQLite: the statements, or a function of what the store has (a column added before migrations were recorded). */
  sqlite: string | ((has: { column(table: string, column: string): boolean }) => string);
  postgres: string;
}

/** The trace table (trace/call-trace.ts) and its lookups by time and by each id, in either database's types. */
function traceTable(id: string, ms: string): string {
  return `
    CREATE TABLE IF NOT EXISTS trace (
      id ${id},
      at ${ms} NOT NULL,
      kind TEXT NOT NULL,
      number TEXT,
      call_id TEXT,
      dialog_id TEXT,
      b24_call_id TEXT,
      agent TEXT,
      outcome TEXT NOT NULL,
      data TEXT NOT NULL
    );
    ${['at', 'number', 'call_id', 'dialog_id', 'b24_call_id'].map((c) => `CREATE INDEX IF NOT EXISTS trace_${c} ON trace (${c});`).join('\n    ')}`;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'key-value state and the outbox',
    sqlite: `
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);
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
      CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_at);`,
    postgres: `
      CREATE TABLE IF NOT EXISTS kv (
        -- "C": bytewise order, so a key prefix is a range of the primary key, as in SQLite.
        key TEXT COLLATE "C" PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS outbox (
        id BIGSERIAL PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at BIGINT NOT NULL,
        last_error TEXT,
        result TEXT,
        created_at BIGINT NOT NULL,
        done_at BIGINT
      );
      CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_at);`,
  },
  {
    version: 2,
    name: 'outbox leases (several nodes share the outbox)',
    sqlite: (has) => (has.column('outbox', 'lease_until') ? '' : 'ALTER TABLE outbox ADD COLUMN lease_until INTEGER; ALTER TABLE outbox ADD COLUMN lease_owner TEXT;'),
    postgres: 'ALTER TABLE outbox ADD COLUMN IF NOT EXISTS lease_until BIGINT; ALTER TABLE outbox ADD COLUMN IF NOT EXISTS lease_owner TEXT;',
  },
  {
    version: 3,
    name: 'the phone index moved to its own file',
    sqlite: `DROP TABLE IF EXISTS phone_index; DROP TABLE IF EXISTS phone_index_record; DROP TABLE IF EXISTS phone_index_user; DELETE FROM kv WHERE key = 'phoneIndex.state';`,
    postgres: '',
  },
  {
    version: 4,
    name: 'call traces (one timeline per call)',
    sqlite: traceTable('INTEGER PRIMARY KEY AUTOINCREMENT', 'INTEGER'),
    postgres: traceTable('BIGSERIAL PRIMARY KEY', 'BIGINT'),
  },
];

/** The schema this code writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export const MIGRATIONS_TABLE = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)';

/** The store was written by a newer version of the connector: this one must not touch it. */
export class StoreTooNewError extends NamedError {
  constructor(readonly storeVersion: number) {
    super(
      `the store has schema ${storeVersion}, this version of finesse-bitrix24 knows up to ${SCHEMA_VERSION}: a newer version wrote it. Run that version again, or restore the backup taken before the upgrade (docs/operations.md, "Rolling back")`,
    );
  }
}

/** The migrations a store at `applied` still needs, in order; a store newer than the code is refused. */
export function pendingMigrations(applied: number): Migration[] {
  if (applied > SCHEMA_VERSION) throw new StoreTooNewError(applied);
  return MIGRATIONS.filter((m) => m.version > applied);
}

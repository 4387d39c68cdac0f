import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NamedError } from '../protocol/named-error';
import { processAlive } from './process-alive';
import { SCHEMA_VERSION, StoreTooNewError } from './store-migrations';

/**
 * Back up and restore the embedded store (DATA_DIR/connector.db). The copy is taken online with SQLite's backup
 * API in one step (a consistent snapshot while the middleware goes on writing: WAL readers never block the writer);
 * copying the file alone is no backup, its last writes may sit in the -wal file. What else is in DATA_DIR is a cache
 * the middleware rebuilds (the phone index, the statistics rollup). On PostgreSQL the whole store is the database:
 * pg_dump covers it.
 */
export const STORE_FILE = 'connector.db';
export const PID_FILE = 'middleware.pid';
const MANIFEST = 'manifest.json';

export interface BackupManifest {
  product: 'finesse-bitrix24';
  version: string;
  schema: number;
  createdAt: string;
  files: Array<{ name: string; bytes: number; sha256: string }>;
  /** What it holds, said back by `restore`. */
  counts: { pendingJobs: number; keys: number };
}

export class BackupError extends NamedError {}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function counts(db: Database.Database): BackupManifest['counts'] {
  const one = (sql: string) => Number((db.prepare(sql).get() as { n: number }).n);
  return { pendingJobs: one(`SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'`), keys: one('SELECT COUNT(*) AS n FROM kv') };
}

function schemaOf(db: Database.Database): number {
  const has = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get();
  return has ? Number((db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v) : 0;
}

/** Writes a consistent copy of the store in `dataDir` and its manifest into `folder` (created; must be empty). */
export async function backupStore(dataDir: string, folder: string, version: string): Promise<BackupManifest> {
  const source = join(dataDir, STORE_FILE);
  if (!existsSync(source)) throw new BackupError(`no store at ${source}: is DATA_DIR right?`);
  mkdirSync(folder, { recursive: true });
  if (readdirSync(folder).length > 0) throw new BackupError(`${folder} is not empty: back up into a new folder`);
  const target = join(folder, STORE_FILE);
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    // All pages in one step: the copy is one snapshot of the store, never restarted by the middleware's writes.
    await db.backup(target, { progress: () => 1 << 30 });
  } finally {
    db.close();
  }
  const copy = new Database(target, { readonly: true });
  let manifest: BackupManifest;
  try {
    const check = copy.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new BackupError(`the copy failed its integrity check: ${String(check)}`);
    manifest = {
      product: 'finesse-bitrix24',
      version,
      schema: schemaOf(copy),
      createdAt: new Date().toISOString(),
      files: [],
      counts: counts(copy),
    };
  } finally {
    copy.close();
  }
  manifest.files.push({ name: STORE_FILE, bytes: readFileSync(target).length, sha256: sha256(target) });
  writeFileSync(join(folder, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** The pid of a middleware running on `dataDir`, if its pid file names a live process. */
export function runningMiddleware(dataDir: string): number | null {
  const path = join(dataDir, PID_FILE);
  if (!existsSync(path)) return null;
  const pid = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid) ? pid : null;
}

/**
 * Puts the backup in `folder` back as the store of `dataDir`: refused while a middleware runs on it, for a backup
 * whose files do not match their manifest, or one a newer version wrote. The store it replaces is kept beside it
 * (connector.db.before-restore-<time>), never deleted.
 */
export function restoreStore(folder: string, dataDir: string): { manifest: BackupManifest; keptAs: string | null } {
  const running = runningMiddleware(dataDir);
  if (running) throw new BackupError(`a middleware (pid ${running}) runs on ${dataDir}: stop it first (systemctl stop finesse-bitrix24)`);
  const manifestPath = join(folder, MANIFEST);
  if (!existsSync(manifestPath)) throw new BackupError(`${folder} holds no backup (no ${MANIFEST})`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as BackupManifest;
  if (manifest.product !== 'finesse-bitrix24') throw new BackupError(`${folder} is not a finesse-bitrix24 backup`);
  if (manifest.schema > SCHEMA_VERSION) throw new StoreTooNewError(manifest.schema);
  for (const f of manifest.files) {
    const path = join(folder, f.name);
    if (!existsSync(path) || sha256(path) !== f.sha256) throw new BackupError(`${path} is missing or changed since the backup (sha256 differs): not restored`);
  }
  mkdirSync(dataDir, { recursive: true });
  const live = join(dataDir, STORE_FILE);
  let keptAs: string | null = null;
  if (existsSync(live)) {
    keptAs = `${live}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(live, keptAs);
  }
  // The old store's journal belongs to the old store: left beside the new file, SQLite would apply it.
  for (const side of ['-wal', '-shm']) {
    if (!existsSync(live + side)) continue;
    if (keptAs) renameSync(live + side, keptAs + side);
    else rmSync(live + side);
  }
  copyFileSync(join(folder, STORE_FILE), live);
  return { manifest, keptAs };
}

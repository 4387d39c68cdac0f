import { resolve } from 'node:path';
import { buildInfo } from '../middleware/build-info';
import { backupStore } from '../middleware/store-backup';
import { configOrExplain, runCli } from './cli';

/**
 * `npm run backup -- <folder>` (`finesse-bitrix24 backup <folder>`): a consistent online copy of the store, taken
 * while the middleware runs, with a manifest (version, schema, what it holds, checksums). Exit 0 done, 1 failed,
 * 2 usage or configuration; on PostgreSQL, what to run instead.
 */
async function main(): Promise<number> {
  const folder = process.argv[2];
  if (!folder) {
    process.stderr.write('usage: backup <folder>   (a new, empty folder)\n');
    return 2;
  }
  const config = configOrExplain();
  if (!config) return 2;
  if (config.databaseUrl) {
    process.stderr.write(
      "The store is on PostgreSQL (DATABASE_URL): back it up with pg_dump, e.g. `pg_dump --format=custom --file=fb24.dump <database>` — it holds everything that matters (the installation and tokens, the outbox, dedupe marks, schema_migrations); restore with pg_restore into an empty database. DATA_DIR holds only this node's caches, rebuilt at start. Nothing was written.\n",
    );
    return 2;
  }
  const m = await backupStore(config.dataDir, resolve(folder), buildInfo().version);
  process.stdout.write(`backed up ${config.dataDir} into ${resolve(folder)}: schema ${m.schema}, ${m.counts.pendingJobs} pending outbox jobs, ${m.counts.keys} keys (version ${m.version})\n`);
  return 0;
}

runCli('backup', main);

import { resolve } from 'node:path';
import { BackupError, restoreStore } from '../middleware/store-backup';
import { StoreTooNewError } from '../middleware/store-migrations';
import { configOrExplain, runCli } from './cli';

/**
 * `npm run restore -- <folder>` (`finesse-bitrix24 restore <folder>`): puts a backup back as the store of DATA_DIR —
 * refused while the middleware runs on it; the store it replaces is kept beside it. Exit 0 done, 1 refused or
 * failed, 2 usage or configuration.
 */
async function main(): Promise<number> {
  const folder = process.argv[2];
  if (!folder) {
    process.stderr.write('usage: restore <folder>   (a folder written by backup)\n');
    return 2;
  }
  const config = configOrExplain();
  if (!config) return 2;
  if (config.databaseUrl) {
    process.stderr.write('The store is on PostgreSQL (DATABASE_URL): restore it with pg_restore (docs/operations.md, "Back up and restore").\n');
    return 2;
  }
  try {
    const { manifest, keptAs } = restoreStore(resolve(folder), config.dataDir);
    process.stdout.write(
      `restored the backup of ${manifest.createdAt} (version ${manifest.version}, schema ${manifest.schema}): ${manifest.counts.pendingJobs} pending outbox jobs, ${manifest.counts.keys} keys${keptAs ? `; the previous store is kept as ${keptAs}` : ''}. Start the middleware: it migrates the store if the backup is older.\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof BackupError || err instanceof StoreTooNewError) {
      process.stderr.write(`not restored: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

runCli('restore', main);

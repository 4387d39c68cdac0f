import Database from 'better-sqlite3';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA_VERSION } from '../../middleware/store-migrations';
import { NodeProcess } from '../../testing/node-process';
import { processSetup } from '../middleware-process';

/** Rolling back onto a store the newer version already migrated: the older middleware refuses to start, and says why. */
describe('a store newer than the code', () => {
  it('the middleware exits 2 (the unit does not restart it) naming both schemas and what to do, the store untouched', async () => {
    const setup = await processSetup('too-new-');
    try {
      const db = new Database(join(setup.dataDir, 'connector.db'));
      db.exec(readFileSync(join(__dirname, '../../testing/fixtures/store-schema-0.sqlite.sql'), 'utf8'));
      db.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL); INSERT INTO schema_migrations VALUES (${SCHEMA_VERSION + 1}, 'next', 1)`);
      db.close();
      const log = join(setup.dataDir, 'middleware.log');
      const proc = new NodeProcess('middleware/main.ts', { ...setup.env, PORT: String(setup.port) }, log);
      try {
        expect(await proc.exited).toEqual({ code: 2, signal: null });
      } finally {
        await proc.stop();
      }
      expect(readFileSync(log, 'utf8')).toContain(`the store has schema ${SCHEMA_VERSION + 1}, this version of finesse-bitrix24 knows up to ${SCHEMA_VERSION}: a newer version wrote it`);
      const after = new Database(join(setup.dataDir, 'connector.db'), { readonly: true });
      expect(after.prepare(`SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'`).get()).toEqual({ n: 3 });
      after.close();
    } finally {
      await setup.emulator.stop();
      rmSync(setup.dataDir, { recursive: true, force: true });
    }
  });
});

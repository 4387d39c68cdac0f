import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { insertCall, seedConfig } from '../testing/ccdr-stand-in';
import { SqliteCcdrSource } from '../middleware/stats/ccdr-source';
import { Bitrix24Emulator } from './lab/bitrix24-emulator/server';
import { middlewareEnv } from './lab/lab-stack';

const run = promisify(execFile);

describe('npm run backfill', () => {
  it('logs a past period with a progress bar, and a rerun logs nothing twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backfill-'));
    const path = join(dir, 'db_cra.sqlite');
    const db = new SqliteCcdrSource(path, { writable: true });
    seedConfig(db.db);
    for (let i = 0; i < 12; i++) {
      insertCall(db.db, {
        session: 300 + i,
        start: `2024-03-0${1 + (i % 3)} 08:${String(i).padStart(2, '0')}:00.000`,
        caller: '89123456789',
        crmRef: 'CONTACT:42',
        disposition: 1,
        queues: [{ csq: 9, disposition: 1, queueTime: 30, met: false }],
      });
    }
    await db.close();
    const emulator = new Bitrix24Emulator();
    await emulator.start();
    const env = { PATH: process.env.PATH ?? '', ...middlewareEnv(emulator, 'webhook', join(dir, 'data'), { CCDR_SQLITE_PATH: path, LOG_LEVEL: 'silent' }) };
    const cmd = join(__dirname, '../node_modules/.bin/tsx');
    try {
      const first = await run(cmd, [join(__dirname, 'backfill-missed-calls.ts'), '--from', '2024-03-01', '--to', '2024-03-02'], { env });
      expect(first.stderr).toContain('[##############################] 8/8 logged');
      expect(first.stderr).toContain('8 missed calls of 2024-03-01..2024-03-02 (Europe/Moscow) are in Bitrix24.');
      expect(emulator.calls.filter((c) => c.finished?.STATUS_CODE === '304')).toHaveLength(8);
      await run(cmd, [join(__dirname, 'backfill-missed-calls.ts'), '--from', '2024-03-01', '--to', '2024-03-02'], { env });
      expect(emulator.calls).toHaveLength(8);
      const bad = await run(cmd, [join(__dirname, 'backfill-missed-calls.ts'), '--from', 'yesterday'], { env }).catch((e: { code: number; stderr: string }) => e);
      expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('from: expected a date YYYY-MM-DD') });
    } finally {
      await emulator.stop();
    }
  });
});

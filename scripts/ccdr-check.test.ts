import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMarker } from '../testing/node-process';
import { OdbcCcdrSource } from '../middleware/stats/odbc-source';
import { seedConfig } from '../testing/ccdr-stand-in';
import { SqliteCcdrSource } from '../middleware/stats/ccdr-source';
import { checkStatements } from '../middleware/stats/statement-check';

describe('npm run ccdr-check', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'check-')), 'db_cra.sqlite');
  const db = new SqliteCcdrSource(path, { writable: true });
  beforeAll(() => seedConfig(db.db));
  afterAll(() => db.close());

  it('runs every statement over a tiny range and says ok, also through unixODBC (the production path)', async () => {
    for (const source of [db, new OdbcCcdrSource(`Driver=SQLite3;Database=${path}`, 5000)]) {
      const lines = await checkStatements(source, 'Europe/Moscow');
      expect(lines.map((l) => [l.statement, l.ok])).toEqual([
        ['connection (ping)', true],
        ['report: CSQ activity', true],
        ['report: agent summary', true],
        ['report: abandoned calls', true],
        ['report: volume by hour', true],
        ['report: volume by day', true],
        ['missed calls (one page)', true],
        ['rollup: CSQs of abandoned calls', true],
        ['rollup: row counts of a day', true],
        ['rollup: legs per day', true],
      ]);
      if (source !== db) await (source as OdbcCcdrSource).close();
    }
  });

  it("names the database's own error for a statement that fails", async () => {
    const broken = new SqliteCcdrSource(join(mkdtempSync(join(tmpdir(), 'check-')), 'db_cra.sqlite'), { writable: true });
    broken.db.exec('DROP TABLE agentconnectiondetail');
    const lines = await checkStatements(broken, 'Europe/Moscow');
    expect(lines.find((l) => l.statement === 'report: agent summary')).toMatchObject({ ok: false, detail: expect.stringMatching(/no such table: agentconnectiondetail/) });
    expect(lines.find((l) => l.statement === 'report: CSQ activity')?.ok).toBe(true);
    await broken.close();
  });

  it('as a command: prints a line per statement and exits 0 when all work, 2 without configuration', async () => {
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', join(__dirname, 'ccdr-check.ts')], { env: { PATH: process.env.PATH ?? '', ...runMarker(), ...env } }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
        );
      });
    const base = { B24_WEBHOOK_URL: 'https://p.example/rest/1/s3cretsecret/', B24_UNPROCESSED_USER_ID: '9', HOST: '127.0.0.1' };
    const ok = await run({ ...base, CCDR_SQLITE_PATH: path });
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('ok    report: agent summary: 0 rows');
    expect(ok.out).toContain('all 10 work');
    const none = await run(base);
    expect(none.code).toBe(2);
    expect(none.out).toContain('no call records configured');
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CcdrError, SqliteCcdrSource } from './ccdr-source';

describe('SQLite CCDR queries in worker threads', () => {
  let source: SqliteCcdrSource;
  beforeAll(() => {
    source = new SqliteCcdrSource(join(mkdtempSync(join(tmpdir(), 'readers-')), 'db_cra.sqlite'), { writable: true });
    source.db
      .prepare(`INSERT INTO contactservicequeue (recordid, contactservicequeueid, profileid, csqname, servicelevel, servicelevelpercentage, active) VALUES (1, 1, 1, 'CSQ_Sales', 20, 80, 't')`)
      .run();
  });
  afterAll(() => source.close());

  it('answers from what the writer committed, and says what went wrong', async () => {
    await expect(source.query('SELECT csqname FROM contactservicequeue WHERE recordid = ?', [1])).resolves.toEqual([{ csqname: 'CSQ_Sales' }]);
    await expect(source.query('SELECT nope FROM contactservicequeue', [])).rejects.toThrow(new CcdrError('CCDR query failed: no such column: nope'));
  });

  it('a long query leaves the event loop free (UCCX lookups keep answering)', async () => {
    const started = performance.now();
    const heavy = source.query('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT SUM(i) AS s FROM n', []);
    const gaps: number[] = [];
    let done = false;
    void heavy.then(() => (done = true));
    while (!done) {
      const t = performance.now();
      await new Promise((r) => setImmediate(r)); // one turn of the event loop
      gaps.push(performance.now() - t);
    }
    const total = performance.now() - started;
    expect(await heavy).toEqual([{ s: 4500001500000 }]);
    // Run on the event loop, the query would be one turn as long as the whole query. Off it, the loop keeps turning
    // many times, and no turn comes near the query's length, however loaded the machine (both scale with the load).
    expect(gaps.length).toBeGreaterThan(10);
    expect(gaps.reduce((a, b) => Math.max(a, b), 0)).toBeLessThan(total / 2);
  });
});

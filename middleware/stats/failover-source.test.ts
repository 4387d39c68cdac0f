import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FailoverCcdrSource, nodeName } from './failover-source';
import { OdbcCcdrSource } from './odbc-source';
import { periodToUtc } from './period';
import { Reports } from './reports';
import { fixture } from '../../testing/reports-fixture';

/**
 * db_cra on the two nodes of a UCCX HA pair, through unixODBC for real (Debian's SQLite ODBC driver): the first node
 * is a folder that does not exist yet — unreachable — until the test copies the database there.
 */
describe('call records on two nodes', () => {
  const standIn = fixture();
  const dir = mkdtempSync(join(tmpdir(), 'failover-'));
  const firstDir = join(dir, 'uccx1');
  const second = join(dir, 'uccx2.sqlite');
  let now = 1_000_000;
  let source: FailoverCcdrSource;
  const day = periodToUtc('2024-03-01', '2024-03-01', 'Europe/Moscow');

  beforeAll(async () => {
    await standIn.close();
    copyFileSync(standIn.db.name, second);
    source = new FailoverCcdrSource(
      [
        { name: 'uccx1', source: new OdbcCcdrSource(`Driver=SQLite3;Database=${join(firstDir, 'db.sqlite')}`, 5000) },
        { name: 'uccx2', source: new OdbcCcdrSource(`Driver=SQLite3;Database=${second}`, 5000) },
      ],
      { retryFirstMs: 60_000, now: () => now },
    );
  });
  afterAll(async () => {
    await source.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers from the second node while the first cannot be reached, and says so', async () => {
    expect((await new Reports(source, null).volume(day, 'day'))[0]?.presented).toBe(6);
    expect(source.status()).toMatchObject({ using: 'uccx2', nodes: ['uccx1', 'uccx2'], lastSwitch: { to: 'uccx2', reason: expect.stringMatching(/^cannot connect/) } });
  });

  it('does not move on an SQL error: both nodes would give it', async () => {
    await expect(source.query('SELECT * FROM no_such_table', [])).rejects.toThrow(/no_such_table|no such table/);
    expect(source.status().using).toBe('uccx2');
  });

  it('goes back to the first node once it answers again, after it rested a minute', async () => {
    mkdirSync(firstDir);
    copyFileSync(second, join(firstDir, 'db.sqlite'));
    now += 30_000;
    await source.ping();
    expect(source.status().using).toBe('uccx2');
    now += 30_000;
    expect((await new Reports(source, null).volume(day, 'day'))[0]?.presented).toBe(6);
    expect(source.status()).toMatchObject({ using: 'uccx1', lastSwitch: { to: 'uccx1' } });
  });

  it('names a node by its host, never by its password', () => {
    expect(nodeName('DRIVER={IBM INFORMIX ODBC DRIVER};DATABASE=db_cra;HOST=uccx2.example.com;SERVER=uccx2_uccx;PWD=s3cret', 1)).toBe('uccx2.example.com');
    expect(nodeName('PWD=s3cret', 0)).toBe('node 1');
  });
});

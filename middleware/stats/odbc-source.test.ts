import { periodToUtc } from './period';
import { Reports } from './reports';
import { fixture } from './reports.test-fixture';
import { OdbcCcdrSource } from './odbc-source';

/** The production path (unixODBC + the odbc package) on Debian's SQLite ODBC driver: the same reports, to the digit. */
describe('ODBC source', () => {
  const sqlite = fixture();
  const path = sqlite.db.name;
  const odbc = new OdbcCcdrSource(`Driver=SQLite3;Database=${path}`, 5000);
  afterAll(async () => {
    await odbc.close();
    await sqlite.close();
  });

  it.each(['Europe/Moscow', 'Europe/Berlin', 'Asia/Kolkata'])('gives the same reports as the embedded store (%s)', async (zone) => {
    const period = periodToUtc('2024-02-29', '2024-03-02', zone);
    const a = new Reports(sqlite, 'https://crm.example');
    const b = new Reports(odbc, 'https://crm.example');
    expect(await b.csqActivity(period)).toEqual(await a.csqActivity(period));
    expect(await b.agentSummary(period)).toEqual(await a.agentSummary(period));
    expect(await b.abandoned(period)).toEqual(await a.abandoned(period));
    expect(await b.volume(period, 'hour')).toEqual(await a.volume(period, 'hour'));
    expect(await b.volume(period, 'day')).toEqual(await a.volume(period, 'day'));
    expect((await b.csqActivity(period)).length).toBeGreaterThan(0);
  });

  it('says plainly when the database cannot be reached, and connects once it can', async () => {
    const broken = new OdbcCcdrSource('Driver=NoSuchDriver;Database=/nonexistent', 2000);
    await expect(broken.ping()).rejects.toThrow(/^cannot connect: .*NoSuchDriver|^cannot connect: /);
    await broken.close();
    await expect(odbc.ping()).resolves.toBeUndefined();
  });
});

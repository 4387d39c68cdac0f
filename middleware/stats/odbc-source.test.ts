import { periodToUtc } from './period';
import { Reports } from './reports';
import { fixture } from '../../testing/reports-fixture';
import { ISOLATION_MODES, OdbcCcdrSource, type OdbcConnection, type OdbcModule } from './odbc-source';

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

/**
 * What each new Informix connection is told before its first report (no Informix here: a stand-in for the odbc
 * package records the statements; the statements themselves are IBM's, see odbc-source.ts).
 */
describe('Informix session settings', () => {
  function fakeOdbc(refuse: RegExp | null) {
    const log: Array<{ conn: number; sql: string; timeout?: number }> = [];
    const free: OdbcConnection[] = [];
    let made = 0;
    const conn = (id: number): OdbcConnection => ({
      query: async (sql, _params, opts) => {
        log.push({ conn: id, sql, timeout: opts?.timeout });
        if (refuse?.test(sql)) throw Object.assign(new Error('[odbc] Error executing the sql statement'), { odbcErrors: [{ message: '-201 A syntax error has occurred.' }] });
        return [];
      },
      close: async function (this: OdbcConnection) {
        free.push(this);
      },
    });
    const module: OdbcModule = {
      pool: async () => ({ connect: async () => free.pop() ?? conn(++made), close: async () => undefined }),
    };
    return { module, log };
  }
  const informix = 'DRIVER={IBM INFORMIX ODBC DRIVER};DATABASE=db_cra;HOST=uccx1;SERVER=uccx1_uccx;SERVICE=1504;PROTOCOL=onsoctcp;UID=uccxhruser;PWD=x';

  it('reads the last committed rows and waits for locks a bounded time, once per connection, with the query timeout', async () => {
    const { module, log } = fakeOdbc(null);
    const src = new OdbcCcdrSource(informix, 15000, () => module);
    await src.query('SELECT 1', []);
    await src.query('SELECT 2', []);
    expect(log).toEqual([
      { conn: 1, sql: ISOLATION_MODES[0] },
      { conn: 1, sql: 'SET LOCK MODE TO WAIT 10' },
      { conn: 1, sql: 'SELECT 1', timeout: 15 },
      { conn: 1, sql: 'SELECT 2', timeout: 15 },
    ]);
    expect(src.isolation).toBe('SET ISOLATION TO COMMITTED READ LAST COMMITTED');
    await src.close();
  });

  it('falls back to dirty read on an engine without LAST COMMITTED', async () => {
    const { module, log } = fakeOdbc(/LAST COMMITTED/);
    const src = new OdbcCcdrSource(informix, 3000, () => module);
    await src.query('SELECT 1', []);
    expect(log.map((l) => l.sql)).toEqual([ISOLATION_MODES[0], 'SET ISOLATION TO DIRTY READ', 'SET LOCK MODE TO WAIT 3', 'SELECT 1']);
    expect(src.isolation).toBe('SET ISOLATION TO DIRTY READ');
    await src.close();
  });

  it('says which settings the database refused, in its own words', async () => {
    const { module } = fakeOdbc(/^SET ISOLATION/);
    const src = new OdbcCcdrSource(informix, 3000, () => module);
    await expect(src.query('SELECT 1', [])).rejects.toThrow(/refused every isolation level: .*-201 A syntax error/);
    await src.close();
  });
});

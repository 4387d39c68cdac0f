import { rmSync } from 'node:fs';
import { LAB_UCCX_TOKEN, startStack, type Stack } from '../../scripts/lab/lab-stack';
import { fixture } from '../../testing/reports-fixture';
import { uccxLookup } from '../../testing/lookup-client';
import { waitFor } from '../../testing/wait';
import Database from 'better-sqlite3';

const STATS = 'stats-token-1234';

describe('/api/stats', () => {
  const db = fixture();
  const path = db.db.name;
  let stack: Stack;
  beforeAll(async () => {
    await db.close();
    stack = await startStack({ mode: 'webhook', env: { CCDR_SQLITE_PATH: path, STATS_API_TOKEN: STATS, PORTAL_TIMEZONE: 'Europe/Moscow' } });
  });
  afterAll(() => stack.stop());
  const get = (q: string, token: string | null = STATS) => fetch(`${stack.url}/api/stats/${q}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('answers JSON naming the zone, the period and the service-level variant', async () => {
    const res = await get('csq?from=2024-03-01&to=2024-03-01');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      report: 'csq',
      timeZone: 'Europe/Moscow',
      period: { from: '2024-03-01', to: '2024-03-01', utcStart: '2024-02-29 21:00:00.000', utcEnd: '2024-03-01 21:00:00.000' },
      serviceLevel: expect.stringContaining('abandoned calls not counted'),
    });
    expect(body.rows[0]).toEqual({
      csq: 'Sales',
      presented: 5,
      handled: 2,
      abandoned: 2,
      dequeued: 1,
      handledByOther: 0,
      unknownDisposition: 0,
      invalidTimes: 0,
      avgQueueSeconds: 28.6,
      maxQueueSeconds: 60,
      serviceLevelPercent: 25,
    });
  });

  it('filters by queue and agent, buckets volume by hour, links abandoned calls to the portal', async () => {
    expect((await (await get('csq?from=2024-03-01&to=2024-03-01&queue=Support')).json()).rows.map((r: { csq: string }) => r.csq)).toEqual(['Support']);
    expect((await (await get('agents?from=2024-03-01&to=2024-03-01&agent=petrova')).json()).rows).toHaveLength(1);
    const volume = await (await get('volume?from=2024-03-01&to=2024-03-01&by=hour')).json();
    expect(volume.rows[0]).toEqual({ bucket: '2024-03-01 09:00+03:00', presented: 1, handled: 1, abandoned: 0 });
    const abandoned = await (await get('abandoned?from=2024-03-01&to=2024-03-01')).json();
    expect(abandoned.rows[0].crmUrl).toBe(`${stack.emulator.url}/crm/lead/details/310/`);
  });

  it('exports CSV', async () => {
    const res = await get('agents?from=2024-03-01&to=2024-03-01&format=csv');
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="agents-2024-03-01-2024-03-01.csv"');
    expect((await res.text()).split('\r\n').slice(0, 2)).toEqual([
      'agent,login,extension,presented,handled,rna,talkSeconds,holdSeconds,workSeconds,avgHandleSeconds,invalidTimes',
      'Ivanov,ivanov,1021,3,2,1,230,3,20,126.5,0',
    ]);
  });

  it.each([
    ['csq?from=2024-03-01&to=2024-03-01', null, 401, 'token: missing'],
    ['csq?from=2024-03-01&to=2024-03-01', 'wrong-token-x', 403, 'token: wrong'],
    ['csq?from=2024-3-1&to=2024-03-01', STATS, 400, 'from: expected a date YYYY-MM-DD'],
    ['csq?from=2024-03-02&to=2024-03-01', STATS, 400, 'to: must not be before from'],
    ['volume?from=2024-03-01&to=2024-03-01&by=week', STATS, 400, 'by: expected hour or day'],
    ['calls?from=2024-03-01&to=2024-03-01', STATS, 404, 'no report "calls" (live, csq'],
    ['live', null, 401, 'token: missing'],
    ['live', 'wrong-token-x', 403, 'token: wrong'],
  ])('%s → %i', async (q, token, status, reason) => {
    const res = await get(q, token);
    expect(res.status).toBe(status);
    expect(await res.text()).toMatch(new RegExp(`^${reason.replace(/[()"]/g, '.')}`));
  });

  it("serves wallboards the live queues from the reader's memory: off until UCCX writes the snapshot, then live", async () => {
    const live = async () => (await get('live')).json();
    const off = await waitFor(async () => ((await live()).state === 'off' ? live() : null), 20_000, 'the first read');
    expect(off).toMatchObject({ source: 'db_cra', intervalSeconds: 5, queues: [], problem: expect.stringContaining('Tools > Real Time Snapshot Config') });
    const w = new Database(path);
    const now = new Date().toISOString().slice(0, 19).replace('T', ' ');
    w.prepare(`INSERT INTO rtcsqssummary (csqname, loggedinagents, availableagents, callswaiting, oldestcontact, startdatetime, enddatetime) VALUES ('Sales', 2, 1, 1, 31000, ?, ?)`).run(now, now);
    w.close();
    const body = await waitFor(async () => ((await live()).state === 'live' ? live() : null), 20_000, 'the snapshot to be read');
    expect(body).toMatchObject({ queues: [{ name: 'Sales', waiting: 1, oldestWaitSeconds: 31, agents: { loggedIn: 2, ready: 1 } }], gaps: ['system-summary'], totals: null });
    const res = await get('live');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('when the database is gone: 503 with the reason, and lookups go on', async () => {
    rmSync(path);
    const other = await startStack({ mode: 'webhook', env: { CCDR_SQLITE_PATH: path, STATS_API_TOKEN: STATS } });
    try {
      const res = await fetch(`${other.url}/api/stats/csq?from=2024-03-01&to=2024-03-01`, { headers: { authorization: `Bearer ${STATS}` } });
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/^CCDR database: cannot open the CCDR database .*db_cra\.sqlite/);
      expect((await uccxLookup(other.url, { ani: '89123456789', token: LAB_UCCX_TOKEN })).fields.extension).toBe('1021');
    } finally {
      await other.stop();
    }
  });

  it('is off without a token or a database, and says which key to set', async () => {
    const bare = await startStack({ mode: 'webhook' });
    try {
      expect(await (await fetch(`${bare.url}/api/stats/csq?from=2024-03-01&to=2024-03-01`)).text()).toBe('the statistics API is off: set STATS_API_TOKEN\n');
    } finally {
      await bare.stop();
    }
    const noDb = await startStack({ mode: 'webhook', env: { STATS_API_TOKEN: STATS } });
    try {
      const res = await fetch(`${noDb.url}/api/stats/csq?from=2024-03-01&to=2024-03-01`, { headers: { authorization: `Bearer ${STATS}` } });
      expect(res.status).toBe(503);
      expect(await res.text()).toBe('statistics are not configured: set CCDR_SQLITE_PATH or CCDR_ODBC_CONNECTION\n');
      const live = await fetch(`${noDb.url}/api/stats/live`, { headers: { authorization: `Bearer ${STATS}` } });
      expect([live.status, await live.text()]).toEqual([503, 'the live view is off: it needs call records (CCDR_SQLITE_PATH or CCDR_ODBC_CONNECTION) and LIVE_INTERVAL_S above 0\n']);
    } finally {
      await noDb.stop();
    }
  });
});

import { abandonedAfter } from '../missed/abandoned-calls';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INFORMIX_DIALECT, SqliteCcdrSource, type CcdrSource, type Row } from './ccdr-source';
import { periodToUtc } from './period';
import { Reports } from './reports';
import { LiveFacts } from './report-facts';
import { LiveReader } from './live-reader';

/**
 * Every statement as the middleware sends it to UCCX's Informix, checked for constructs Informix 12.10 does not take
 * (HCL Informix Guide to SQL: Syntax): no SQLite-only functions, no CAST of a parameter marker (the odbc
 * package describes every marker), GROUP BY of columns or positions only, FIRST n for a bounded page.
 */
describe('the SQL sent to Informix', () => {
  const sent: string[] = [];
  const recording: CcdrSource = {
    dialect: INFORMIX_DIALECT,
    query: async (sql: string): Promise<Row[]> => {
      sent.push(sql);
      return [];
    },
    ping: async () => undefined,
    close: async () => undefined,
  };

  beforeAll(async () => {
    const p = periodToUtc('2024-03-01', '2024-03-31', 'Europe/Moscow');
    const r = new Reports(recording, null);
    await r.csqActivity(p, { csq: 'Sales' });
    await r.agentSummary(p, { agent: 'ivanov' });
    await r.abandoned(p, { csq: 'Sales' });
    await r.volume(p, 'hour');
    await abandonedAfter(recording, { endUtc: p.utcStart, sessionId: '153020000202886' }, p.utcEnd, 500);
    // The rollup's own reads of a day: which CSQs abandoned calls waited in, and the day's row counts.
    const live = new LiveFacts(recording);
    await live.abandonedQueues({ start: p.utcStart, end: p.utcEnd });
    await live.fingerprint({ start: p.utcStart, end: p.utcEnd });
    // Its check before serving days: legs of a run of days, and per day when they differ.
    await live.legs({ start: p.utcStart, end: p.utcEnd });
    await live.legsPerDay({ start: p.utcStart, end: p.utcEnd });
    // The live queues' one read: both real-time tables.
    const reader = new LiveReader({ nodes: [{ name: 'db_cra', source: recording }], intervalSeconds: 5, log: { warn: () => undefined, info: () => undefined } });
    await reader.read();
  });

  it('covers every statement', () => expect(sent).toHaveLength(12));

  it.each([
    ['a CAST of a parameter marker', /CAST\s*\(\s*\?/i],
    ['SQLite functions', /\b(substr|strftime|julianday|ifnull|printf|group_concat)\s*\(/i],
    ['LIMIT / OFFSET', /\b(LIMIT|OFFSET)\s+\d/i],
  ])('never uses %s', (_what, pattern) => {
    for (const sql of sent) expect([sql.slice(0, 80), pattern.test(sql)]).toEqual([sql.slice(0, 80), false]);
  });

  it('groups by columns or positions only (Informix 12.10 refuses GROUP BY of an expression)', () => {
    const clauses = sent.flatMap((sql) => [...sql.matchAll(/GROUP BY\s+(.*?)(?:\s+ORDER BY|\s+HAVING|$)/gis)].map((m) => m[1]!.trim()));
    expect(clauses.length).toBeGreaterThanOrEqual(3);
    for (const c of clauses) expect([c, /^[\w.]+(\s*,\s*[\w.]+)*$/.test(c)]).toEqual([c, true]);
  });

  it('bounds the missed-call page in the database (SELECT FIRST n) and compares session ids as numbers', () => {
    const page = sent[4]!;
    expect(page.trimStart().startsWith('SELECT FIRST 500 ')).toBe(true);
    expect(page).toMatch(/f\.sessionid > \?/);
  });
});

describe('the db_cra stand-in', () => {
  it('takes a row with every documented column of each table, as a CCDR export has them', async () => {
    const s = new SqliteCcdrSource(join(mkdtempSync(join(tmpdir(), 'schema-')), 'db.sqlite'), { writable: true });
    const columns = (table: string) => (s.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);
    // The column lists of the UCCX Database Schema Guide 12.5(1) (db_cra), beside what the reports read.
    expect(columns('contactcalldetail')).toEqual(
      expect.arrayContaining(['campaignid', 'origprotocolcallref', 'destprotocolcallref', 'callresult', 'dialinglistid', 'lastleg', 'redirect', 'transfer']),
    );
    expect(columns('contactroutingdetail')).toEqual(['sessionid', 'sessionseqnum', 'nodeid', 'profileid', 'qindex', 'origpriority', 'finalpriority', 'queuetime', 'startdatetime', 'contactid']);
    expect(columns('contactservicequeue')).toEqual(expect.arrayContaining(['resourcegroupid', 'selectioncriteria', 'skillgroupid', 'autowork', 'queuealgorithm', 'wrapuptime', 'queuetypename']));
    expect(columns('resource')).toEqual(
      expect.arrayContaining(['resourcegroupid', 'autoavail', 'orderinrg', 'resourceskillmapid', 'assignedteamid', 'resourcealias', 'capabilities', 'resourceemailid']),
    );
    expect(columns('agentstatedetail')).toEqual(['agentid', 'eventdatetime', 'gmtoffset', 'eventtype', 'reasoncode', 'profileid', 'loginsessionid', 'contactid']);
    s.db.prepare(`INSERT INTO contactroutingdetail VALUES (1, 0, 1, 1, 1, 1, 1, 12, '2024-03-01 06:00:00.000', NULL)`).run();
    await s.close();
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CcdrError, SqliteCcdrSource, type CcdrSource } from './ccdr-source';
import { LiveReader } from './live-reader';

/** The one reader behind every live page and wallboard, over the db_cra stand-in's real-time tables. */
describe('LiveReader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'live-'));
  const db = new SqliteCcdrSource(join(dir, 'db_cra.sqlite'), { writable: true });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const write = (waiting: number, end: string) => {
    db.db.prepare('DELETE FROM rtcsqssummary').run();
    db.db
      .prepare(
        `INSERT INTO rtcsqssummary (csqname, loggedinagents, availableagents, unavailableagents, talkingagents, reservedagents, workingagents, callswaiting,
        oldestcontact, totalcalls, callshandled, callsabandoned, callsdequeued, startdatetime, enddatetime) VALUES ('Sales', 2, 0, 1, 1, 0, 0, ?, 42000, 7, 5, 1, 1, '2026-12-08 00:00:00', ?)`,
      )
      .run(waiting, end);
    db.db.prepare('DELETE FROM rticdstatistics').run();
    db.db.prepare(`INSERT INTO rticdstatistics (type, totalcsqs, loggedinagents, callswaiting, startdatetime, enddatetime) VALUES ('Voice', 1, 2, ?, '2026-12-08 00:00:00', ?)`).run(waiting, end);
  };
  const log = () => {
    const lines: Array<[string, unknown]> = [];
    return { lines, warn: (o: unknown) => lines.push(['warn', o]), info: (o: unknown) => lines.push(['info', o]) };
  };

  it('costs two statements a read, however many viewers ask for the snapshot', async () => {
    let statements = 0;
    let now = Date.parse('2026-12-08T10:00:02Z');
    const r = new LiveReader({ nodes: [{ name: 'db_cra', source: db }], intervalSeconds: 5, log: log(), onStatement: () => statements++, now: () => now });
    write(1, '2026-12-08 10:00:00');
    await r.read();
    for (let i = 0; i < 60; i++) expect(JSON.parse(r.currentJson())).toMatchObject({ state: 'live', queues: [{ name: 'Sales', waiting: 1, oldestWaitSeconds: 42 }] });
    write(3, '2026-12-08 10:00:05');
    now += 5000;
    await r.read();
    expect(r.current().queues[0]!.waiting).toBe(3);
    expect(statements).toBe(4);
  });

  it('keeps the last numbers, marked, while the database does not answer; says so once, and once when it is back', async () => {
    let down = false;
    const flaky: CcdrSource = {
      ...db,
      dialect: db.dialect,
      query: (sql, p) => (down ? Promise.reject(new CcdrError('cannot connect: timeout', true)) : db.query(sql, p)),
      ping: () => db.ping(),
      close: async () => undefined,
    };
    const l = log();
    const r = new LiveReader({ nodes: [{ name: 'db_cra', source: flaky }], intervalSeconds: 5, log: l, now: () => Date.parse('2026-12-08T10:00:07Z') });
    write(2, '2026-12-08 10:00:05');
    await r.read();
    down = true;
    await r.read();
    await r.read();
    expect(r.current()).toMatchObject({ state: 'unreachable', ageSeconds: 2, queues: [{ waiting: 2 }], problem: 'the UCCX database does not answer: cannot connect: timeout' });
    down = false;
    await r.read();
    expect(r.current().state).toBe('live');
    expect(l.lines.map(([level]) => level)).toEqual(['warn', 'info']);
  });

  it("reads today's service level at most once a minute, and keeps the last one when that read fails", async () => {
    let now = Date.parse('2026-12-08T10:00:06Z');
    let asked = 0;
    let fail = false;
    const r = new LiveReader({
      nodes: [{ name: 'db_cra', source: db }],
      intervalSeconds: 5,
      log: log(),
      now: () => now,
      serviceLevel: async () => {
        asked++;
        if (fail) throw new CcdrError('slow');
        return new Map([['Sales', 91.2]]);
      },
    });
    write(0, '2026-12-08 10:00:05');
    await r.read();
    now += 30_000;
    await r.read();
    expect(asked).toBe(1);
    fail = true;
    now += 31_000;
    write(0, '2026-12-08 10:01:05');
    await r.read();
    expect(asked).toBe(2);
    expect(r.current().queues[0]!.serviceLevelPercent).toBe(91.2);
  });

  it('in a UCCX HA pair reads the node UCCX writes the snapshot on, and follows a fail-over', async () => {
    const other = new SqliteCcdrSource(join(dir, 'db_cra-b.sqlite'), { writable: true });
    const at = (db2: SqliteCcdrSource, end: string) => {
      db2.db.exec('DELETE FROM rtcsqssummary; DELETE FROM rticdstatistics');
      db2.db.prepare(`INSERT INTO rtcsqssummary (csqname, callswaiting, startdatetime, enddatetime) VALUES ('Sales', 4, '2026-12-08 00:00:00', ?)`).run(end);
      db2.db.prepare(`INSERT INTO rticdstatistics (type, callswaiting, startdatetime, enddatetime) VALUES ('Voice', 4, '2026-12-08 00:00:00', ?)`).run(end);
    };
    let bDown = false;
    const b: CcdrSource = {
      dialect: other.dialect,
      query: (q, p) => (bDown ? Promise.reject(new CcdrError('cannot connect', true)) : other.query(q, p)),
      ping: () => other.ping(),
      close: async () => undefined,
    };
    let statements = 0;
    const now = Date.parse('2026-12-08T10:10:00Z');
    const r = new LiveReader({
      nodes: [
        { name: 'uccx-a', source: db },
        { name: 'uccx-b', source: b },
      ],
      intervalSeconds: 5,
      log: log(),
      onStatement: () => statements++,
      now: () => now,
    });
    try {
      at(db, '2026-12-08 09:00:00'); // the standby's copy: an hour old
      at(other, '2026-12-08 10:09:58'); // the master's: current
      await r.read();
      expect(r.current()).toMatchObject({ state: 'live', node: 'uccx-b', queues: [{ waiting: 4 }] });
      expect(statements).toBe(4);
      await r.read(); // the master first now: one read
      expect(statements).toBe(6);
      bDown = true; // UCCX fails over: the other node is master and writes
      at(db, '2026-12-08 10:09:59');
      await r.read();
      expect(r.current()).toMatchObject({ state: 'live', node: 'uccx-a' });
    } finally {
      await other.close();
    }
  });
});

import { INFORMIX_DIALECT, SQLITE_DIALECT, type Row } from './ccdr-source';
import { buildSnapshot, CSQ_COLUMNS, liveStatements, staleAfterSeconds, SYSTEM_COLUMNS, utcMs } from './live-snapshot';

const NOW = Date.parse('2026-12-08T10:00:10Z');
const csq = (over: Row = {}): Row => ({
  csqname: 'Sales',
  loggedinagents: 4,
  availableagents: 1,
  unavailableagents: 1,
  talkingagents: 1,
  reservedagents: 1,
  workingagents: 0,
  callswaiting: 2,
  oldestcontact: 75_400,
  totalcalls: 30,
  callshandled: 25,
  callsabandoned: 3,
  callsdequeued: 2,
  avgwaitduration: 12_300,
  longestwaitduration: 95_000,
  avgtalkduration: 181_000,
  startdatetime: '2026-12-08 00:00:01',
  enddatetime: '2026-12-08 10:00:05',
  ...over,
});
const system = (over: Row = {}): Row => ({ ...csq(), csqname: null, type: 'Voice', totalcsqs: 2, ...over });

describe('the live snapshot from RtCSQsSummary and RtICDStatistics', () => {
  it('reads every state count, the waits in seconds (the columns hold ms) and the day since startdatetime', () => {
    const s = buildSnapshot({ csqRows: [csq()], systemRows: [system()], now: NOW, intervalSeconds: 5, serviceLevel: new Map([['Sales', 87.5]]) });
    expect(s.state).toBe('live');
    expect(s.problem).toBeNull();
    expect(s.ageSeconds).toBe(5);
    expect(s.writtenAt).toBe('2026-12-08T10:00:05.000Z');
    expect(s.since).toBe('2026-12-08T00:00:01.000Z');
    expect(s.queues).toEqual([
      {
        name: 'Sales',
        waiting: 2,
        oldestWaitSeconds: 75,
        agents: { loggedIn: 4, ready: 1, notReady: 1, talking: 1, reserved: 1, working: 0 },
        calls: { total: 30, handled: 25, abandoned: 3, dequeued: 2, avgWaitSeconds: 12, longestWaitSeconds: 95, avgTalkSeconds: 181 },
        serviceLevelPercent: 87.5,
      },
    ]);
    expect(s.totals).toMatchObject({ type: 'Voice', csqs: 2, waiting: 2, calls: { dequeued: null } });
  });

  it("takes UCCX's -1 (its NULL) as nothing, and no oldest wait when nobody waits", () => {
    const s = buildSnapshot({ csqRows: [csq({ callswaiting: 0, oldestcontact: 5000, avgtalkduration: -1, loggedinagents: -1 })], systemRows: [system()], now: NOW, intervalSeconds: 5 });
    expect(s.queues[0]).toMatchObject({ waiting: 0, oldestWaitSeconds: null, agents: { loggedIn: 0 }, calls: { avgTalkSeconds: null } });
  });

  it('uses the voice row of RtICDStatistics whatever the order of the contact types', () => {
    const s = buildSnapshot({ csqRows: [csq()], systemRows: [system({ type: 'Email', callswaiting: 9 }), system({ type: 'Voice', callswaiting: 2 })], now: NOW, intervalSeconds: 5 });
    expect(s.totals).toMatchObject({ type: 'Voice', waiting: 2 });
  });

  it('says the snapshot is off when UCCX wrote nothing, naming the page and the checkboxes', () => {
    const s = buildSnapshot({ csqRows: [], systemRows: [], now: NOW, intervalSeconds: 5 });
    expect(s.state).toBe('off');
    expect(s.problem).toMatch(/Tools > Real Time Snapshot Config, tick Data Writing Enable/);
  });

  it('is stale once UCCX has not written for two intervals and ten seconds', () => {
    const at = (ageS: number) => buildSnapshot({ csqRows: [csq({ enddatetime: '2026-12-08 10:00:00' })], systemRows: [], now: Date.parse('2026-12-08T10:00:00Z') + ageS * 1000, intervalSeconds: 5 });
    expect(staleAfterSeconds(5)).toBe(20);
    expect(at(20).state).toBe('live');
    expect(at(21).state).toBe('stale');
    expect(at(21).problem).toMatch(/last wrote the real-time snapshot 21 s ago \(interval 5 s\)/);
  });

  it('names the checkbox missing when only one of the two tables is written', () => {
    expect(buildSnapshot({ csqRows: [], systemRows: [system()], now: NOW, intervalSeconds: 5 })).toMatchObject({
      state: 'live',
      gaps: ['csq-summary'],
      problem: expect.stringMatching(/CSQs Summary/),
    });
    expect(buildSnapshot({ csqRows: [csq()], systemRows: [], now: NOW, intervalSeconds: 5 })).toMatchObject({
      gaps: ['system-summary'],
      totals: null,
      problem: expect.stringMatching(/System Summary/),
    });
  });

  it('reads DATETIME text as UTC, to the second or the millisecond, and nothing else', () => {
    expect(utcMs('2026-12-08 10:00:05')).toBe(Date.parse('2026-12-08T10:00:05Z'));
    expect(utcMs('2026-12-08 10:00:05.250')).toBe(Date.parse('2026-12-08T10:00:05Z'));
    expect(utcMs('')).toBeNull();
    expect(utcMs(null)).toBeNull();
    expect(utcMs(-1)).toBeNull();
  });

  it('sends Informix the documented column names and DATETIME as text (TO_CHAR), never SELECT *', () => {
    const inf = liveStatements(INFORMIX_DIALECT);
    expect(inf.csq).toMatch(/^SELECT csqname, .* FROM rtcsqssummary$/);
    expect(inf.csq).toContain("TO_CHAR(enddatetime, '%Y-%m-%d %H:%M:%S') AS enddatetime");
    expect(inf.system).toMatch(/FROM rticdstatistics$/);
    expect(liveStatements(SQLITE_DIALECT).csq).toBe(`SELECT ${CSQ_COLUMNS.join(', ')} FROM rtcsqssummary`);
    expect(liveStatements(SQLITE_DIALECT).system).toBe(`SELECT ${SYSTEM_COLUMNS.join(', ')} FROM rticdstatistics`);
  });
});

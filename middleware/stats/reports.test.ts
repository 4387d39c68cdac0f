import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertCall, seedConfig } from '../../testing/ccdr-stand-in';
import { fixture } from '../../testing/reports-fixture';
import { SqliteCcdrSource } from './ccdr-source';
import { periodToUtc } from './period';
import { Reports } from './reports';

describe('reports over a hand-computed day', () => {
  const source = fixture();
  const reports = new Reports(source, 'https://crm.example');
  const day = periodToUtc('2024-03-01', '2024-03-01', 'Europe/Moscow');
  afterAll(() => source.close());

  it('CSQ activity', async () => {
    expect(await reports.csqActivity(day)).toEqual([
      // presented 5 = 2 handled + 2 abandoned + 1 dequeued; queue 143/5; SL = 1 in / (5 − 1 abandoned in) = 25 %
      {
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
      },
      {
        csq: 'Support',
        presented: 2,
        handled: 2,
        abandoned: 0,
        dequeued: 0,
        handledByOther: 0,
        unknownDisposition: 0,
        invalidTimes: 0,
        avgQueueSeconds: 6.5,
        maxQueueSeconds: 10,
        serviceLevelPercent: 100,
      },
    ]);
    expect(await reports.csqActivity(day, { csq: 'Support' })).toHaveLength(1);
  });

  it('agent summary (a re-saved agent is one line)', async () => {
    expect(await reports.agentSummary(day)).toEqual([
      // Ivanov: S1, S4 (RNA), S6 → handled 2, talk 230, hold 3, work 20, AHT 253/2
      { agent: 'Ivanov', login: 'ivanov', extension: '1021', presented: 3, handled: 2, rna: 1, talkSeconds: 230, holdSeconds: 3, workSeconds: 20, avgHandleSeconds: 126.5, invalidTimes: 0 },
      // Petrova: S4, S5 → talk 300, hold 5, work 10, AHT 315/2
      { agent: 'Petrova', login: 'petrova', extension: '1022', presented: 2, handled: 2, rna: 0, talkSeconds: 300, holdSeconds: 5, workSeconds: 10, avgHandleSeconds: 157.5, invalidTimes: 0 },
    ]);
    expect((await reports.agentSummary(day, { agent: 'petrova' })).map((r) => r.agent)).toEqual(['Petrova']);
  });

  it('abandoned-call detail in local time with the CRM link', async () => {
    expect(await reports.abandoned(day)).toEqual([
      { time: '2024-03-01 10:00:00', caller: '79005556677', csq: 'Sales', queueSeconds: 30, crmRef: 'LEAD:310', crmUrl: 'https://crm.example/crm/lead/details/310/' },
      { time: '2024-03-01 10:10:00', caller: '79005550000', csq: 'Sales', queueSeconds: 5, crmRef: '', crmUrl: null },
    ]);
  });

  it('volume by local hour and by day; 23:59:59 local stays on its day', async () => {
    expect(await reports.volume(day, 'hour')).toEqual([
      { bucket: '2024-03-01 09:00+03:00', presented: 1, handled: 1, abandoned: 0 },
      { bucket: '2024-03-01 10:00+03:00', presented: 2, handled: 0, abandoned: 2 },
      { bucket: '2024-03-01 11:00+03:00', presented: 1, handled: 1, abandoned: 0 },
      { bucket: '2024-03-01 12:00+03:00', presented: 1, handled: 1, abandoned: 0 },
      { bucket: '2024-03-01 23:00+03:00', presented: 1, handled: 1, abandoned: 0 },
    ]);
    const two = periodToUtc('2024-02-29', '2024-03-02', 'Europe/Moscow');
    expect(await reports.volume(two, 'day')).toEqual([
      { bucket: '2024-02-29', presented: 1, handled: 1, abandoned: 0 },
      { bucket: '2024-03-01', presented: 6, handled: 4, abandoned: 2 },
      { bucket: '2024-03-02', presented: 1, handled: 0, abandoned: 1 },
    ]);
  });
});

describe('time zones', () => {
  function single(starts: string[]): { reports: Reports; source: SqliteCcdrSource } {
    const source = new SqliteCcdrSource(join(mkdtempSync(join(tmpdir(), 'ccdr-')), 'db_cra.sqlite'), { writable: true });
    seedConfig(source.db);
    starts.forEach((start, i) => insertCall(source.db, { session: 100 + i, start, disposition: 2, queues: [{ csq: 9, disposition: 2, queueTime: 1, met: true }] }));
    return { reports: new Reports(source, null), source };
  }

  it('Europe/Berlin across the October DST change: 25 hours, the 02:00 hour twice', async () => {
    const { reports, source } = single(['2024-10-26 22:00:00.000', '2024-10-27 00:30:00.000', '2024-10-27 01:30:00.000', '2024-10-27 22:59:59.000', '2024-10-27 23:00:00.000']);
    const day = periodToUtc('2024-10-27', '2024-10-27', 'Europe/Berlin');
    expect((await reports.volume(day, 'hour')).map((b) => [b.bucket, b.presented])).toEqual([
      ['2024-10-27 00:00+02:00', 1],
      ['2024-10-27 02:00+02:00', 1],
      ['2024-10-27 02:00+01:00', 1],
      ['2024-10-27 23:00+01:00', 1],
    ]);
    await source.close();
  });

  it('Europe/Berlin across the March DST change: a 23-hour day', async () => {
    const { reports, source } = single(['2024-03-30 22:59:59.000', '2024-03-30 23:00:00.000', '2024-03-31 01:00:00.000', '2024-03-31 21:59:59.000', '2024-03-31 22:00:00.000']);
    const day = periodToUtc('2024-03-31', '2024-03-31', 'Europe/Berlin');
    expect((await reports.volume(day, 'hour')).map((b) => [b.bucket, b.presented])).toEqual([
      ['2024-03-31 00:00+01:00', 1],
      ['2024-03-31 03:00+02:00', 1], // 01:00Z is 03:00 CEST: 02:00 does not exist that day
      ['2024-03-31 23:00+02:00', 1],
    ]);
    await source.close();
  });

  it('Asia/Kolkata (+5:30) buckets by the local hour', async () => {
    const { reports, source } = single(['2024-03-01 06:05:10.123', '2024-03-01 06:29:59.000', '2024-03-01 06:30:00.000']);
    const day = periodToUtc('2024-03-01', '2024-03-01', 'Asia/Kolkata');
    expect((await reports.volume(day, 'hour')).map((b) => [b.bucket, b.presented])).toEqual([
      ['2024-03-01 11:00+05:30', 2],
      ['2024-03-01 12:00+05:30', 1],
    ]);
    await source.close();
  });
});

/**
 * Abandoned Call Detail by Cisco's rule (stats/missed-rule.ts): one row per call, worked out by hand for each shape.
 */
describe('abandoned-call detail: one row per abandoned call', () => {
  const source = new SqliteCcdrSource(join(mkdtempSync(join(tmpdir(), 'abandoned-report-')), 'db_cra.sqlite'), { writable: true });
  const reports = new Reports(source, null);
  const t = (m: number) => `2024-03-01 07:${String(m).padStart(2, '0')}:00.000`;
  beforeAll(() => {
    seedConfig(source.db);
    // Queued to Sales, then also to Support, gave up: one row, the CSQ queued first, both waits added.
    insertCall(source.db, {
      session: 501,
      start: t(1),
      caller: '111',
      disposition: 1,
      queues: [
        { csq: 9, disposition: 1, queueTime: 20, met: false },
        { csq: 8, disposition: 1, queueTime: 15, met: false },
      ],
    });
    // Hung up in the IVR before any queue: listed, no CSQ.
    insertCall(source.db, { session: 502, start: t(2), caller: '222', disposition: 1 });
    // An agent talked, transferred to Support, the caller gave up there: not an abandoned call.
    insertCall(source.db, {
      session: 503,
      start: t(3),
      caller: '333',
      disposition: 2,
      queues: [{ csq: 9, disposition: 2, queueTime: 5, met: true }],
      agents: [{ resource: 13, ring: 2, talk: 60, hold: 0, work: 0 }],
    });
    insertCall(source.db, { session: 503, seq: 1, contactType: 4, start: '2024-03-01 07:04:10.000', caller: '13', disposition: 1, queues: [{ csq: 8, disposition: 1, queueTime: 40, met: false }] });
    // A main IVR redirected to the queue application, the caller gave up there: listed once, with that leg's CRM mark.
    insertCall(source.db, { session: 504, start: t(5), caller: '444', disposition: 2, seconds: 10 });
    insertCall(source.db, {
      session: 504,
      seq: 1,
      contactType: 5,
      start: '2024-03-01 07:05:10.000',
      caller: '444',
      crmRef: 'CONTACT:42',
      disposition: 1,
      queues: [{ csq: 8, disposition: 1, queueTime: 30, met: false }],
    });
  });
  afterAll(() => source.close());
  const day = periodToUtc('2024-03-01', '2024-03-01', 'UTC');

  it('lists each call once, IVR abandons included, agent-handled calls not', async () => {
    expect(await reports.abandoned(day)).toEqual([
      { time: '2024-03-01 07:01:00', caller: '111', csq: 'Sales', queueSeconds: 35, crmRef: '', crmUrl: null },
      { time: '2024-03-01 07:02:00', caller: '222', csq: '', queueSeconds: 0, crmRef: '', crmUrl: null },
      { time: '2024-03-01 07:05:00', caller: '444', csq: 'Support', queueSeconds: 30, crmRef: 'CONTACT:42', crmUrl: null },
    ]);
  });

  it('filters by a CSQ the call waited in, not only the first', async () => {
    expect((await reports.abandoned(day, { csq: 'Support' })).map((r) => r.caller)).toEqual(['111', '444']);
    expect((await reports.abandoned(day, { csq: 'Sales' })).map((r) => r.caller)).toEqual(['111']);
  });
});

/** A disposition code Cisco does not document never breaks the report and is counted where the manager sees it. */
describe('CSQ activity with an undocumented disposition', () => {
  const source = new SqliteCcdrSource(join(mkdtempSync(join(tmpdir(), 'bad-disposition-')), 'db_cra.sqlite'), { writable: true });
  const reports = new Reports(source, null);
  beforeAll(() => {
    seedConfig(source.db);
    insertCall(source.db, {
      session: 601,
      start: '2024-03-01 08:00:00.000',
      disposition: 2,
      queues: [{ csq: 9, disposition: 2, queueTime: 4, met: true }],
      agents: [{ resource: 12, ring: 2, talk: 30, hold: 0, work: 0 }],
    });
    insertCall(source.db, { session: 602, start: '2024-03-01 08:01:00.000', disposition: 2, queues: [{ csq: 9, disposition: 2, queueTime: 6, met: true }] });
    insertCall(source.db, { session: 603, start: '2024-03-01 08:02:00.000', disposition: 2, queues: [{ csq: 9, disposition: 2, queueTime: 8, met: true }] });
    source.db.prepare('UPDATE contactqueuedetail SET disposition = ? WHERE sessionid = ?').run(9, 602);
    source.db.prepare('UPDATE contactqueuedetail SET disposition = ? WHERE sessionid = ?').run(0, 603);
  });
  afterAll(() => source.close());

  it('keeps them in presented and counts them apart', async () => {
    expect(await reports.csqActivity(periodToUtc('2024-03-01', '2024-03-01', 'UTC'))).toEqual([
      {
        csq: 'Sales',
        presented: 3,
        handled: 1,
        abandoned: 0,
        dequeued: 0,
        handledByOther: 0,
        unknownDisposition: 2,
        invalidTimes: 0,
        avgQueueSeconds: 6,
        maxQueueSeconds: 8,
        serviceLevelPercent: 33.3,
      },
    ]);
  });
});

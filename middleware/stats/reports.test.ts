import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertCall, seedConfig } from './ccdr-fixture';
import { fixture } from './reports.test-fixture';
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
      { csq: 'Sales', presented: 5, handled: 2, abandoned: 2, dequeued: 1, handledByOther: 0, avgQueueSeconds: 28.6, maxQueueSeconds: 60, serviceLevelPercent: 25 },
      { csq: 'Support', presented: 2, handled: 2, abandoned: 0, dequeued: 0, handledByOther: 0, avgQueueSeconds: 6.5, maxQueueSeconds: 10, serviceLevelPercent: 100 },
    ]);
    expect(await reports.csqActivity(day, { csq: 'Support' })).toHaveLength(1);
  });

  it('agent summary (a re-saved agent is one line)', async () => {
    expect(await reports.agentSummary(day)).toEqual([
      // Ivanov: S1, S4 (RNA), S6 → handled 2, talk 230, hold 3, work 20, AHT 253/2
      { agent: 'Ivanov', extension: '1021', presented: 3, handled: 2, rna: 1, talkSeconds: 230, holdSeconds: 3, workSeconds: 20, avgHandleSeconds: 126.5 },
      // Petrova: S4, S5 → talk 300, hold 5, work 10, AHT 315/2
      { agent: 'Petrova', extension: '1022', presented: 2, handled: 2, rna: 0, talkSeconds: 300, holdSeconds: 5, workSeconds: 10, avgHandleSeconds: 157.5 },
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

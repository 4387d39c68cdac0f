import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertCall, seedConfig } from '../../testing/ccdr-stand-in';
import { INFORMIX_DIALECT, SqliteCcdrSource } from '../stats/ccdr-source';
import { abandonedAfter, callSeconds } from './abandoned-calls';

/**
 * Which UCCX calls are missed calls, by the rule (first leg incoming, last leg abandoned, no agent talked on any leg).
 * The expected sessions are worked out by hand from that rule for each call shape, not from our code.
 */
describe('missed calls: the rule on each call shape', () => {
  const source = new SqliteCcdrSource(join(mkdtempSync(join(tmpdir(), 'abandoned-')), 'db.sqlite'), { writable: true });
  const t = (m: number) => `2024-03-01 06:${String(m).padStart(2, '0')}:00.000`;
  beforeAll(() => {
    const db = source.db;
    seedConfig(db);
    insertCall(db, { session: 301, start: t(1), caller: '89001110001', disposition: 1, queues: [{ csq: 9, disposition: 1, queueTime: 20, met: false }] }); // gave up in the queue: missed
    // A main IVR redirects to the queue application: its first leg is "handled" by the redirect, the second abandoned.
    insertCall(db, { session: 302, start: t(2), caller: '89001110002', disposition: 2, seconds: 10 });
    insertCall(db, {
      session: 302,
      seq: 1,
      contactType: 5,
      start: '2024-03-01 06:02:10.000',
      caller: '89001110002',
      crmRef: 'CONTACT:42',
      disposition: 1,
      queues: [{ csq: 9, disposition: 1, queueTime: 30, met: false }],
    }); // missed
    // An agent talked, then transferred to a queue where the caller gave up: not a missed call.
    insertCall(db, {
      session: 303,
      start: t(3),
      caller: '89001110003',
      disposition: 2,
      queues: [{ csq: 9, disposition: 2, queueTime: 5, met: true }],
      agents: [{ resource: 13, ring: 2, talk: 60, hold: 0, work: 0 }],
    });
    insertCall(db, { session: 303, seq: 1, contactType: 4, start: '2024-03-01 06:04:10.000', caller: '13', disposition: 1, queues: [{ csq: 8, disposition: 1, queueTime: 40, met: false }] });
    insertCall(db, { session: 304, start: t(5), caller: '89001110004', disposition: 1 }); // hung up in the IVR, before any queue: missed
    insertCall(db, { session: 305, start: t(6), caller: '89001110005', disposition: 1, seconds: 3 }); // a 3 s hang-up: missed (the job decides about a lead)
    insertCall(db, { session: 306, start: t(7), caller: '89001110006', contactType: 2, disposition: 1 }); // outbound: not
    // Rang at an agent who did not answer (RONA), then the caller gave up: no agent talked, so missed.
    insertCall(db, {
      session: 307,
      start: t(8),
      caller: '89001110007',
      disposition: 1,
      queues: [{ csq: 9, disposition: 1, queueTime: 15, met: false }],
      agents: [{ resource: 12, ring: 12, talk: 0, hold: 0, work: 0 }],
    });
  });
  afterAll(() => source.close());
  const all = (limit: number) => abandonedAfter(source, { endUtc: '2024-03-01 00:00:00.000', sessionId: '' }, '2024-03-02 00:00:00.000', limit);

  it('lists exactly the calls the rule calls missed, by the end of their last leg', async () => {
    const calls = await all(100);
    expect(calls.map((c) => c.sessionId)).toEqual(['301', '302', '304', '305', '307']);
    expect(calls.find((c) => c.sessionId === '302')).toMatchObject({ caller: '89001110002', crmRef: 'CONTACT:42', startUtc: '2024-03-01 06:02:00.000', endUtc: '2024-03-01 06:02:45.000' });
    expect(callSeconds(calls.find((c) => c.sessionId === '305')!)).toBe(3);
  });

  it('pages through them in a stable order, a bounded page at a time, with ties broken by session number', async () => {
    const seen: string[] = [];
    let w = { endUtc: '2024-03-01 00:00:00.000', sessionId: '' };
    for (;;) {
      const page = await abandonedAfter(source, w, '2024-03-02 00:00:00.000', 2);
      expect(page.length).toBeLessThanOrEqual(2);
      if (!page.length) break;
      seen.push(...page.map((c) => c.sessionId));
      w = { endUtc: page[page.length - 1]!.endUtc, sessionId: page[page.length - 1]!.sessionId };
    }
    expect(seen).toEqual(['301', '302', '304', '305', '307']);
  });

  it('limits rows in the database for Informix as IBM documents it (SELECT FIRST n)', () => {
    expect(INFORMIX_DIALECT.firstRows('SELECT a FROM t ORDER BY a', 500)).toBe('SELECT FIRST 500 a FROM t ORDER BY a');
  });
});

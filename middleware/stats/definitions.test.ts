import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertCall, seedConfig } from '../../testing/ccdr-stand-in';
import { SqliteCcdrSource } from './ccdr-source';
import { periodToUtc } from './period';
import { LiveFacts } from './report-facts';
import { Reports } from './reports';
import { StatsRollup } from './rollup';

/**
 * Cisco's definitions (Cisco Unified CCX Historical Reports User Guide; UCCX Reporting User Guide 12.5(1), FAQs) over the call shapes a contact center has, each expected value
 * worked out by hand in the comments — not read back from our code. 1 March 2024, UTC.
 *  C1  10:00 Sales handled (q 10, in SL); Ivanov ring 2 talk 100 hold 10 work 20, conferences Petrova (ring 3 talk 50)
 *  C2  10:10 preview outbound (type 6): Petrova ring 5 talk 120 work 30 — outbound, in no inbound report
 *  C3  10:20 direct call to Ivanov's extension (application −1), talk 40 — not an ACD call
 *  C4  10:30 Sales handled (q 5, in SL), Ivanov ring 1 talk 60 work 5, blind transfer to Petrova's extension
 *      (leg 1, type 5, application −1, Petrova talk 90 — not an ACD call)
 *  C5  10:40 Sales handled (q 8, in SL), Ivanov (re-saved, resource 14) talk 30, transfers to the route point:
 *      leg 1 (type 5) queued to Support (q 6, in SL), Petrova ring 2 talk 80 work 10
 *  C6  10:50 Sales handled (q 12, not in SL), Petrova ring 1 talk 20, transfers to Support where the caller gives up
 *      (leg 1, q 25, not in SL) — abandoned in Support, but not an abandoned call (an agent talked)
 *  C7  11:00 Sales: RONA (Ivanov ring 12, no talk), then the caller gives up (q 40, not in SL)
 *  C8  12:10 Payments handled (q 5, in SL), Petrova ring 1 talk 10 — the CSQ Billing renamed at 12:00
 *  C9  11:50 Billing abandoned (q 3, in SL) — before the rename
 *  C10 13:00 Sales handled, queue time NULL (in SL); Ivanov ring 1 talk 30, hold −1, work NULL
 *  C11 13:10 a 3-second hang-up in the IVR, before any queue
 */
describe("Cisco's report definitions over every call shape", () => {
  const dir = mkdtempSync(join(tmpdir(), 'definitions-'));
  const source = new SqliteCcdrSource(join(dir, 'db_cra.sqlite'), { writable: true });
  const day = periodToUtc('2024-03-01', '2024-03-01', 'UTC');
  const at = (hm: string) => `2024-03-01 ${hm}:00.000`;
  let rollup: StatsRollup;

  beforeAll(async () => {
    const db = source.db;
    seedConfig(db);
    const csq = db.prepare(
      `INSERT INTO contactservicequeue (recordid, contactservicequeueid, profileid, csqname, servicelevel, servicelevelpercentage, active, dateinactive) VALUES (?, 3, 1, ?, 20, 80, ?, ?)`,
    );
    csq.run(20, 'Billing', 'f', '2024-03-01 12:00:00.000');
    csq.run(21, 'Payments', 't', null);
    insertCall(db, {
      session: 1,
      start: at('10:00'),
      disposition: 2,
      queues: [{ csq: 9, disposition: 2, queueTime: 10, met: true }],
      agents: [
        { resource: 12, ring: 2, talk: 100, hold: 10, work: 20 },
        { resource: 13, ring: 3, talk: 50, hold: 0, work: 0 },
      ],
    });
    insertCall(db, { session: 2, start: at('10:10'), contactType: 6, disposition: 2, agents: [{ resource: 13, ring: 5, talk: 120, hold: 0, work: 30 }] });
    insertCall(db, { session: 3, start: at('10:20'), applicationId: -1, disposition: 2, agents: [{ resource: 12, ring: 1, talk: 40, hold: 0, work: 0 }] });
    insertCall(db, { session: 4, start: at('10:30'), disposition: 2, queues: [{ csq: 9, disposition: 2, queueTime: 5, met: true }], agents: [{ resource: 12, ring: 1, talk: 60, hold: 0, work: 5 }] });
    insertCall(db, { session: 4, seq: 1, contactType: 5, applicationId: -1, start: '2024-03-01 10:31:11.000', disposition: 2, agents: [{ resource: 13, ring: 1, talk: 90, hold: 0, work: 0 }] });
    insertCall(db, { session: 5, start: at('10:40'), disposition: 2, queues: [{ csq: 9, disposition: 2, queueTime: 8, met: true }], agents: [{ resource: 14, ring: 1, talk: 30, hold: 0, work: 0 }] });
    insertCall(db, {
      session: 5,
      seq: 1,
      contactType: 5,
      start: '2024-03-01 10:40:44.000',
      disposition: 2,
      queues: [{ csq: 8, disposition: 2, queueTime: 6, met: true }],
      agents: [{ resource: 13, ring: 2, talk: 80, hold: 0, work: 10 }],
    });
    insertCall(db, {
      session: 6,
      start: at('10:50'),
      disposition: 2,
      queues: [{ csq: 9, disposition: 2, queueTime: 12, met: false }],
      agents: [{ resource: 13, ring: 1, talk: 20, hold: 0, work: 0 }],
    });
    insertCall(db, { session: 6, seq: 1, contactType: 5, start: '2024-03-01 10:50:38.000', disposition: 1, queues: [{ csq: 8, disposition: 1, queueTime: 25, met: false }] });
    insertCall(db, {
      session: 7,
      start: at('11:00'),
      caller: '700',
      disposition: 1,
      queues: [{ csq: 9, disposition: 1, queueTime: 40, met: false }],
      agents: [{ resource: 12, ring: 12, talk: 0, hold: 0, work: 0 }],
    });
    insertCall(db, { session: 8, start: at('12:10'), disposition: 2, queues: [{ csq: 21, disposition: 2, queueTime: 5, met: true }], agents: [{ resource: 13, ring: 1, talk: 10, hold: 0, work: 0 }] });
    insertCall(db, { session: 9, start: at('11:50'), caller: '900', disposition: 1, queues: [{ csq: 20, disposition: 1, queueTime: 3, met: true }] });
    insertCall(db, { session: 10, start: at('13:00'), disposition: 2, queues: [{ csq: 9, disposition: 2, queueTime: 0, met: true }], agents: [{ resource: 12, ring: 1, talk: 30, hold: 0, work: 0 }] });
    db.prepare('UPDATE contactqueuedetail SET queuetime = NULL WHERE sessionid = 10').run();
    db.prepare('UPDATE agentconnectiondetail SET holdtime = -1, worktime = NULL WHERE sessionid = 10').run();
    insertCall(db, { session: 11, start: at('13:10'), caller: '1100', disposition: 1, seconds: 3 });
    rollup = new StatsRollup(join(dir, 'rollup.sqlite'), new LiveFacts(source), {
      sourceId: 'definitions',
      settleMs: 7_200_000,
      verifyDays: 7,
      keepDays: 3,
      daysPerRefresh: 3,
      now: () => Date.parse('2024-03-03T00:00:00Z'),
    });
    await rollup.refresh();
  });
  afterAll(async () => {
    await rollup.close();
    await source.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe.each([
    ['the call records', () => new Reports(source, null)],
    ['the rollup', () => new Reports(rollup, null)],
  ])('read from %s', (_from, reports) => {
    it('CSQ Activity: every queue record of each CSQ name; a renamed CSQ under each name it had', async () => {
      expect(await reports().csqActivity(day)).toEqual([
        // C9: abandoned within SL → SL base 1 − 1 = 0: no service level
        {
          csq: 'Billing',
          presented: 1,
          handled: 0,
          abandoned: 1,
          dequeued: 0,
          handledByOther: 0,
          unknownDisposition: 0,
          invalidTimes: 0,
          avgQueueSeconds: 3,
          maxQueueSeconds: 3,
          serviceLevelPercent: null,
        },
        {
          csq: 'Payments',
          presented: 1,
          handled: 1,
          abandoned: 0,
          dequeued: 0,
          handledByOther: 0,
          unknownDisposition: 0,
          invalidTimes: 0,
          avgQueueSeconds: 5,
          maxQueueSeconds: 5,
          serviceLevelPercent: 100,
        },
        // C1 C4 C5 C6 C10 handled, C7 abandoned; queue 10+5+8+12+40+0 = 75 / 6; in SL handled C1 C4 C5 C10 = 4 / (6 − 0)
        {
          csq: 'Sales',
          presented: 6,
          handled: 5,
          abandoned: 1,
          dequeued: 0,
          handledByOther: 0,
          unknownDisposition: 0,
          invalidTimes: 1,
          avgQueueSeconds: 12.5,
          maxQueueSeconds: 40,
          serviceLevelPercent: 66.7,
        },
        // C5 leg 1 handled (in SL), C6 leg 1 abandoned (not in SL): 1 / (2 − 0)
        {
          csq: 'Support',
          presented: 2,
          handled: 1,
          abandoned: 1,
          dequeued: 0,
          handledByOther: 0,
          unknownDisposition: 0,
          invalidTimes: 0,
          avgQueueSeconds: 15.5,
          maxQueueSeconds: 25,
          serviceLevelPercent: 50,
        },
      ]);
    });

    it('Agent Summary (inbound ACD): conference counts for both agents; outbound, direct and direct-transfer legs do not', async () => {
      expect(await reports().agentSummary(day)).toEqual([
        // C1 C4 C5 C7 C10: handled 4, RNA 1 (C7); talk 100+60+30+30, hold 10 (−1 counts 0), work 20+5 (NULL counts 0)
        { agent: 'Ivanov', login: 'ivanov', extension: '1021', presented: 5, handled: 4, rna: 1, talkSeconds: 220, holdSeconds: 10, workSeconds: 25, avgHandleSeconds: 63.8, invalidTimes: 1 },
        // C1 (conference) C5 leg 1, C6, C8: talk 50+80+20+10, work 10
        { agent: 'Petrova', login: 'petrova', extension: '1022', presented: 4, handled: 4, rna: 0, talkSeconds: 160, holdSeconds: 0, workSeconds: 10, avgHandleSeconds: 42.5, invalidTimes: 0 },
      ]);
    });

    it('Abandoned Call Detail: a RONA then abandon, an abandon before a rename, an IVR hang-up; not the abandon after a transfer', async () => {
      expect((await reports().abandoned(day)).map((r) => [r.time, r.caller, r.csq, r.queueSeconds])).toEqual([
        ['2024-03-01 11:00:00', '700', 'Sales', 40],
        ['2024-03-01 11:50:00', '900', 'Billing', 3],
        ['2024-03-01 13:10:00', '1100', '', 0],
      ]);
    });

    it('volume: each incoming call once by its first leg; the outbound one not', async () => {
      // C1 C3 C4 C5 C6 C7 C8 C9 C10 C11; handled: first leg handled C1 C3 C4 C5 C6 C8 C10; abandoned C7 C9 C11
      expect(await reports().volume(day, 'day')).toEqual([{ bucket: '2024-03-01', presented: 10, handled: 7, abandoned: 3 }]);
    });
  });
});

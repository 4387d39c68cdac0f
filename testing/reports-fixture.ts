import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertCall, seedConfig } from './ccdr-stand-in';
import { SqliteCcdrSource } from '../middleware/stats/ccdr-source';

/**
 * A hand-computed day (Europe/Moscow, UTC+3, 2024-03-01 = [2024-02-29 21:00Z, 2024-03-01 21:00Z)):
 *  S1 06:05Z Sales handled, queue 8 (in SL); Ivanov(12) ring 4 talk 170 hold 3 work 15; CONTACT:42
 *  S2 07:00Z Sales abandoned, queue 30 (out of SL); caller 79005556677, LEAD:310
 *  S3 07:10Z Sales abandoned, queue 5 (in SL)
 *  S4 08:00Z Sales handled, queue 40 (out of SL); RONA: Ivanov(14) ring 12 talk 0, then Petrova ring 3 talk 200 work 10
 *  S5 09:00Z dequeued from Sales (queue 60), handled in Support (queue 10, in SL); Petrova ring 2 talk 100 hold 5
 *  S6 20:59:59.999Z (23:59:59 local) Support handled, queue 3 (in SL); Ivanov(12) ring 1 talk 60 work 5
 *  S7 21:00Z (00:00 local, 2 March) Support abandoned — outside the day
 *  S8 2024-02-29 20:59:59Z (23:59:59 local, 29 Feb) Sales handled — outside the day
 */
export function fixture(): SqliteCcdrSource {
  const source = new SqliteCcdrSource(join(mkdtempSync(join(tmpdir(), 'ccdr-')), 'db_cra.sqlite'), { writable: true });
  const db = source.db;
  seedConfig(db);
  insertCall(db, {
    session: 1,
    start: '2024-03-01 06:05:10.123',
    disposition: 2,
    crmRef: 'CONTACT:42',
    queues: [{ csq: 9, disposition: 2, queueTime: 8, met: true }],
    agents: [{ resource: 12, ring: 4, talk: 170, hold: 3, work: 15 }],
  });
  insertCall(db, { session: 2, start: '2024-03-01 07:00:00.000', disposition: 1, caller: '79005556677', crmRef: 'LEAD:310', queues: [{ csq: 9, disposition: 1, queueTime: 30, met: false }] });
  insertCall(db, { session: 3, start: '2024-03-01 07:10:00.000', disposition: 1, caller: '79005550000', queues: [{ csq: 9, disposition: 1, queueTime: 5, met: true }] });
  insertCall(db, {
    session: 4,
    start: '2024-03-01 08:00:00.000',
    disposition: 2,
    queues: [{ csq: 9, disposition: 2, queueTime: 40, met: false }],
    agents: [
      { resource: 14, ring: 12, talk: 0, hold: 0, work: 0 },
      { resource: 13, ring: 3, talk: 200, hold: 0, work: 10 },
    ],
  });
  insertCall(db, {
    session: 5,
    start: '2024-03-01 09:00:00.000',
    disposition: 2,
    queues: [
      { csq: 9, disposition: 3, queueTime: 60, met: false },
      { csq: 8, disposition: 2, queueTime: 10, met: true },
    ],
    agents: [{ resource: 13, ring: 2, talk: 100, hold: 5, work: 0 }],
  });
  insertCall(db, {
    session: 6,
    start: '2024-03-01 20:59:59.999',
    disposition: 2,
    queues: [{ csq: 8, disposition: 2, queueTime: 3, met: true }],
    agents: [{ resource: 12, ring: 1, talk: 60, hold: 0, work: 5 }],
  });
  insertCall(db, { session: 7, start: '2024-03-01 21:00:00.000', disposition: 1, queues: [{ csq: 8, disposition: 1, queueTime: 7, met: true }] });
  insertCall(db, {
    session: 8,
    start: '2024-02-29 20:59:59.000',
    disposition: 2,
    queues: [{ csq: 9, disposition: 2, queueTime: 2, met: true }],
    agents: [{ resource: 12, ring: 1, talk: 30, hold: 0, work: 0 }],
  });
  return source;
}

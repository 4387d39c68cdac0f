import type Database from 'better-sqlite3';
import moment from 'moment-timezone';
import { insertCall, seedConfig, type CallSpec } from '../../testing/ccdr-stand-in';
import { UTC_TEXT } from '../../middleware/stats/period';

/**
 * Realistic db_cra records for the lab, demos and benchmarks: a working day's curve of calls per local hour, several
 * queues and agents, handled calls, abandons in queue, RONA then answered by another agent, calls dequeued to
 * another CSQ, calls late in the evening (across midnight in UTC) — in the portal's zone, so DST changes are
 * crossed as they happen. Deterministic for a seed.
 */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Calls per local hour on a weekday, 08:00–21:00 (a little at night).
const CURVE = [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 2, 6, 10, 11, 10, 8, 9, 10, 9, 8, 6, 4, 3, 2, 1, 0.6, 0.3];
const CSQS = [9, 9, 9, 8, 8]; // Sales gets more than Support
const AGENTS = [12, 13, 14];
const CRM = ['CONTACT:42', 'CONTACT:43', 'LEAD:310', 'CONTACT:45', '', '', ''];

export interface GenerateOptions {
  from: string; // local date
  days: number;
  timeZone: string;
  callsPerDay: number;
  seed?: number;
  firstSession?: number;
}

export function generateCalls(db: Database.Database, o: GenerateOptions): number {
  const rnd = prng(o.seed ?? 42);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const total = CURVE.reduce((a, b) => a + b, 0);
  let session = o.firstSession ?? 1_000_000;
  let count = 0;
  const write = db.transaction((calls: CallSpec[]) => calls.forEach((c) => insertCall(db, c)));
  for (let d = 0; d < o.days; d++) {
    const day = moment.tz(o.from, 'YYYY-MM-DD', o.timeZone).add(d, 'days');
    const weekend = day.isoWeekday() >= 6;
    const calls: CallSpec[] = [];
    for (let h = 0; h < 24; h++) {
      const n = Math.round(((o.callsPerDay * (weekend ? 0.3 : 1) * CURVE[h]!) / total) * (0.8 + rnd() * 0.4));
      for (let i = 0; i < n; i++) {
        const local = day
          .clone()
          .hour(h)
          .minute(Math.floor(rnd() * 60))
          .second(Math.floor(rnd() * 60))
          .millisecond(Math.floor(rnd() * 1000));
        const start = local.clone().utc().format(UTC_TEXT);
        const csq = pick(CSQS);
        const sl = csq === 9 ? 20 : 30;
        const caller = `79${String(Math.floor(rnd() * 1e9)).padStart(9, '0')}`;
        const crmRef = pick(CRM);
        const r = rnd();
        const base = { session: ++session, start, caller, crmRef };
        let spec: CallSpec;
        if (r < 0.12) {
          const q = Math.floor(5 + rnd() * 120); // abandoned in queue
          spec = { ...base, disposition: 1, queues: [{ csq, disposition: 1, queueTime: q, met: q <= sl }] };
        } else if (r < 0.18) {
          const q = Math.floor(rnd() * 40); // RONA, then another agent answers
          const [a, b] = [pick(AGENTS), pick(AGENTS)];
          spec = {
            ...base,
            disposition: 2,
            queues: [{ csq, disposition: 2, queueTime: q, met: q <= sl }],
            agents: [
              { resource: a, ring: 12, talk: 0, hold: 0, work: 0 },
              { resource: b === a ? pick(AGENTS) : b, ring: Math.floor(2 + rnd() * 6), talk: Math.floor(30 + rnd() * 400), hold: Math.floor(rnd() * 30), work: Math.floor(rnd() * 60) },
            ],
          };
        } else if (r < 0.22) {
          const q = Math.floor(20 + rnd() * 60); // dequeued from one CSQ, answered in the other
          spec = {
            ...base,
            disposition: 2,
            queues: [
              { csq, disposition: 3, queueTime: q, met: false },
              { csq: csq === 9 ? 8 : 9, disposition: 2, queueTime: Math.floor(rnd() * 20), met: true },
            ],
            agents: [{ resource: pick(AGENTS), ring: 3, talk: Math.floor(30 + rnd() * 300), hold: 0, work: Math.floor(rnd() * 40) }],
          };
        } else {
          const q = Math.floor(rnd() * rnd() * 90);
          spec = {
            ...base,
            disposition: 2,
            queues: [{ csq, disposition: 2, queueTime: q, met: q <= sl }],
            agents: [{ resource: pick(AGENTS), ring: Math.floor(2 + rnd() * 8), talk: Math.floor(20 + rnd() * 500), hold: Math.floor(rnd() * rnd() * 60), work: Math.floor(rnd() * 90) }],
          };
        }
        calls.push(spec);
      }
    }
    write(calls);
    count += calls.length;
  }
  return count;
}

/** A fresh stand-in database with the lab's queues and agents and `days` of calls. */
export function fillStandIn(db: Database.Database, o: GenerateOptions): number {
  seedConfig(db);
  return generateCalls(db, o);
}

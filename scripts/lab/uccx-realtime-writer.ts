import type Database from 'better-sqlite3';
import moment from 'moment-timezone';

/**
 * Stands in for UCCX's real-time snapshot writer (Tools > Real Time Snapshot Config, conformance/uccx/cisco-docs/):
 * every interval it replaces the rows of rtcsqssummary (one per CSQ) and rticdstatistics (the system) in the db_cra
 * stand-in with what the lab's contact center looks like now — the calls waiting in its queue, its agents' Finesse
 * states, the day's counters. Durations in milliseconds, times UTC, as UCCX writes them. Lab code.
 */
export type LabAgentState = 'ready' | 'notReady' | 'talking' | 'reserved' | 'working' | 'loggedOut';

export interface CsqDay {
  total: number;
  handled: number;
  abandoned: number;
  dequeued: number;
  waitTotalMs: number;
  waitMaxMs: number;
  talkTotalMs: number;
  talkMaxMs: number;
}

export const emptyDay = (): CsqDay => ({ total: 0, handled: 0, abandoned: 0, dequeued: 0, waitTotalMs: 0, waitMaxMs: 0, talkTotalMs: 0, talkMaxMs: 0 });

export interface LabRealtime {
  /** The CSQs and, for each, when its waiting calls started waiting (epoch ms). */
  csqs: () => Array<{ name: string; waitingSince: number[]; day: CsqDay }>;
  /** Every agent's state now (each lab agent belongs to every CSQ). */
  agents: () => LabAgentState[];
}

const UTC_SECOND = 'YYYY-MM-DD HH:mm:ss';
const hhmmss = (ms: number) => {
  const t = Math.round(ms / 1000);
  return `${String(Math.floor(t / 3600)).padStart(2, '0')}:${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
};

export class UccxRealtimeWriter {
  /** Data Writing Enable: off, the rows stay as last written (and grow old). */
  enabled = true;
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt = Date.now();

  constructor(
    private readonly db: Database.Database,
    private readonly lab: LabRealtime,
    readonly intervalMs: number,
  ) {}

  start(): void {
    this.write();
    this.timer = setInterval(() => this.enabled && this.write(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One write, as UCCX does it at the end of an interval. */
  write(now = Date.now()): void {
    const states = this.lab.agents();
    const n = (s: LabAgentState) => states.filter((x) => x === s).length;
    const agents = { logged: states.filter((s) => s !== 'loggedOut').length, ready: n('ready'), notReady: n('notReady'), talking: n('talking'), reserved: n('reserved'), working: n('working') };
    const end = moment.utc(now).format(UTC_SECOND);
    const start = moment.utc(this.startedAt).format(UTC_SECOND);
    const csqs = this.lab.csqs();
    const row = (waitingSince: number[], d: CsqDay) => {
      const oldest = waitingSince.length ? now - Math.min(...waitingSince) : 0;
      const answered = d.handled || 1;
      return {
        callswaiting: waitingSince.length,
        oldestcontact: oldest,
        totalcalls: d.total,
        callshandled: d.handled,
        callsabandoned: d.abandoned,
        callsdequeued: d.dequeued,
        avgtalkduration: Math.round(d.talkTotalMs / answered),
        avgwaitduration: Math.round(d.waitTotalMs / Math.max(1, d.handled + d.abandoned)),
        longesttalkduration: d.talkMaxMs,
        longestwaitduration: d.waitMaxMs,
      };
    };
    const write = this.db.transaction(() => {
      this.db.prepare('DELETE FROM rtcsqssummary').run();
      const insert = this.db.prepare(`INSERT INTO rtcsqssummary (csqname, loggedinagents, availableagents, unavailableagents, totalcalls, oldestcontact,
        callshandled, callsabandoned, callsdequeued, avgtalkduration, avgwaitduration, longesttalkduration, longestwaitduration, callswaiting,
        enddatetime, workingagents, talkingagents, reservedagents, startdatetime, convavgtalkduration, convavgwaitduration,
        convlongesttalkduration, convlongestwaitduration, convoldestcontact) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      const all = emptyDay();
      const allWaiting: number[] = [];
      for (const c of csqs) {
        const r = row(c.waitingSince, c.day);
        insert.run(
          c.name,
          agents.logged,
          agents.ready,
          agents.notReady,
          r.totalcalls,
          r.oldestcontact,
          r.callshandled,
          r.callsabandoned,
          r.callsdequeued,
          r.avgtalkduration,
          r.avgwaitduration,
          r.longesttalkduration,
          r.longestwaitduration,
          r.callswaiting,
          end,
          agents.working,
          agents.talking,
          agents.reserved,
          start,
          hhmmss(r.avgtalkduration),
          hhmmss(r.avgwaitduration),
          hhmmss(r.longesttalkduration),
          hhmmss(r.longestwaitduration),
          hhmmss(r.oldestcontact),
        );
        for (const k of Object.keys(all) as Array<keyof CsqDay>) all[k] = k.endsWith('MaxMs') ? Math.max(all[k], c.day[k]) : all[k] + c.day[k];
        allWaiting.push(...c.waitingSince);
      }
      this.db.prepare('DELETE FROM rticdstatistics').run();
      const r = row(allWaiting, all);
      this.db
        .prepare(
          `INSERT INTO rticdstatistics (type, totalcsqs, loggedinagents, workingagents, reservedagents, talkingagents, availableagents,
          unavailableagents, totalcalls, callswaiting, callshandled, callsabandoned, avgtalkduration, avgwaitduration, longesttalkduration,
          longestwaitduration, oldestcontact, startdatetime, enddatetime, convavgtalkduration, convavgwaitduration, convlongesttalkduration,
          convlongestwaitduration, convoldestcontact) VALUES ('Voice', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          csqs.length,
          agents.logged,
          agents.working,
          agents.reserved,
          agents.talking,
          agents.ready,
          agents.notReady,
          r.totalcalls,
          r.callswaiting,
          r.callshandled,
          r.callsabandoned,
          r.avgtalkduration,
          r.avgwaitduration,
          r.longesttalkduration,
          r.longestwaitduration,
          r.oldestcontact,
          start,
          end,
          hhmmss(r.avgtalkduration),
          hhmmss(r.avgwaitduration),
          hhmmss(r.longesttalkduration),
          hhmmss(r.longestwaitduration),
          hhmmss(r.oldestcontact),
        );
    });
    write();
  }
}

import { ABANDONED_CALL, LAST_LEG_QUEUE } from './missed-rule';
import type { CcdrSource, Dialect } from './ccdr-source';

/**
 * The reports' facts per UTC quarter hour (every time zone's day and hour starts on one), as Cisco's stock UCCX
 * reports define them (Cisco Unified CCX Historical Reports User Guide), read from db_cra. Each statement is written once and rendered for
 * Informix or SQLite. The reports (reports.ts) add quarters up; the rollup (rollup.ts) keeps settled days of these
 * same facts, so a month's report does not read three million rows again.
 */
export interface UtcRange {
  /** Half-open [start, end), db_cra's UTC text `YYYY-MM-DD HH:MM:SS.fff`. */
  start: string;
  end: string;
}

export interface CsqFact {
  quarter: string;
  csq: string;
  presented: number;
  handled: number;
  abandoned: number;
  dequeued: number;
  byother: number;
  unknowndisp: number;
  /** Queue records whose queue time is missing or negative (counted as 0 s). */
  badtimes: number;
  queuetotal: number;
  queuemax: number;
  handledin: number;
  abandonedin: number;
}

export interface AgentFact {
  quarter: string;
  agent: string;
  loginid: string;
  extension: string;
  presented: number;
  handled: number;
  talk: number;
  hold: number;
  work: number;
  /** Connection records with a missing or negative talk, hold or work time (counted as 0 s). */
  badtimes: number;
}

export interface VolumeFact {
  quarter: string;
  presented: number;
  handled: number;
  abandoned: number;
}

export interface AbandonedFact {
  started: string;
  sessionid: string;
  nodeid: number;
  caller: string;
  csq: string;
  queuetime: number;
  lastref: string;
  crmref: string;
}

/** Where the reports' facts come from: db_cra itself (LiveFacts) or the rollup in front of it. */
export interface ReportFacts {
  csq(range: UtcRange, csq?: string): Promise<CsqFact[]>;
  agents(range: UtcRange, loginId?: string): Promise<AgentFact[]>;
  volume(range: UtcRange): Promise<VolumeFact[]>;
  /** In the order of the call's start (then session id); `csq`: any CSQ the call waited in. */
  abandoned(range: UtcRange, csq?: string): Promise<AbandonedFact[]>;
}

const num = (v: string | number | null | undefined) => (v === null || v === undefined || v === '' ? 0 : Number(v));
const text = (v: string | number | null | undefined) => (v === null || v === undefined ? '' : String(v).trim());

const LEG_JOIN = 'c.sessionid = q.sessionid AND c.sessionseqnum = q.sessionseqnum AND c.nodeid = q.nodeid AND c.profileid = q.profileid';
const ACD_JOIN = 'c.sessionid = a.sessionid AND c.sessionseqnum = a.sessionseqnum AND c.nodeid = a.nodeid AND c.profileid = a.profileid';
/** A duration UCCX left missing or negative (-1 stands for "none" in db_cra) counts as 0 and is counted apart. */
const bad = (col: string) => `${col} IS NULL OR ${col} < 0`;
const pos = (col: string) => `CASE WHEN ${col} > 0 THEN ${col} ELSE 0 END`;

function range(d: Dialect, column: string): string {
  return `${column} >= ${d.datetimeParam} AND ${column} < ${d.datetimeParam}`;
}

/** `YYYY-MM-DD HH:MM` of the UTC quarter hour the column falls in. */
export function quarterOf(d: Dialect, col: string): string {
  return `${d.hourPrefix(col)} || CASE WHEN ${d.minutes(col)} < '15' THEN '00' WHEN ${d.minutes(col)} < '30' THEN '15' WHEN ${d.minutes(col)} < '45' THEN '30' ELSE '45' END`;
}

/** Contact types that are not inbound: 2 outgoing, 6 preview outbound, 7 IVR outbound, 8 agent outbound, 9 outbound to IVR. */
const OUTBOUND_TYPES = '2, 6, 7, 8, 9';

export class LiveFacts implements ReportFacts {
  constructor(readonly source: CcdrSource) {}

  private get d(): Dialect {
    return this.source.dialect;
  }

  /**
   * CSQ Activity: each ContactQueueDetail row of a CSQ (targetType 0) by its disposition — 2 handled, 1 abandoned,
   * 3 dequeued, 4/5 handled by script / another CSQ, anything else counted apart. Grouped by the CSQ's name, so an
   * edited CSQ (a new recordID) stays one line and a renamed one shows under each name it had.
   */
  async csq(r: UtcRange, csq?: string): Promise<CsqFact[]> {
    const params: Array<string | number> = [r.start, r.end];
    if (csq) params.push(csq);
    // Grouped by position: Informix 12.10 does not accept GROUP BY of a whole expression.
    const rows = await this.source.query(
      `SELECT ${quarterOf(this.d, 'c.startdatetime')} AS quarter, csq.csqname AS csq, COUNT(*) AS presented,
        SUM(CASE WHEN q.disposition = 2 THEN 1 ELSE 0 END) AS handled,
        SUM(CASE WHEN q.disposition = 1 THEN 1 ELSE 0 END) AS abandoned,
        SUM(CASE WHEN q.disposition = 3 THEN 1 ELSE 0 END) AS dequeued,
        SUM(CASE WHEN q.disposition IN (4, 5) THEN 1 ELSE 0 END) AS byother,
        SUM(CASE WHEN q.disposition IN (1, 2, 3, 4, 5) THEN 0 ELSE 1 END) AS unknowndisp,
        SUM(CASE WHEN ${bad('q.queuetime')} THEN 1 ELSE 0 END) AS badtimes,
        SUM(${pos('q.queuetime')}) AS queuetotal, MAX(${pos('q.queuetime')}) AS queuemax,
        SUM(CASE WHEN q.disposition = 2 AND q.metservicelevel = 't' THEN 1 ELSE 0 END) AS handledin,
        SUM(CASE WHEN q.disposition = 1 AND q.metservicelevel = 't' THEN 1 ELSE 0 END) AS abandonedin
      FROM contactqueuedetail q
      JOIN contactcalldetail c ON ${LEG_JOIN}
      JOIN contactservicequeue csq ON csq.recordid = q.targetid
      WHERE q.targettype = 0 AND ${range(this.d, 'c.startdatetime')}${csq ? ' AND csq.csqname = ?' : ''}
      GROUP BY 1, 2`,
      params,
    );
    return rows.map((x) => ({
      quarter: text(x.quarter),
      csq: text(x.csq),
      presented: num(x.presented),
      handled: num(x.handled),
      abandoned: num(x.abandoned),
      dequeued: num(x.dequeued),
      byother: num(x.byother),
      unknowndisp: num(x.unknowndisp),
      badtimes: num(x.badtimes),
      queuetotal: num(x.queuetotal),
      queuemax: num(x.queuemax),
      handledin: num(x.handledin),
      abandonedin: num(x.abandonedin),
    }));
  }

  /**
   * Agent Summary, its inbound ACD part: AgentConnectionDetail rows of legs routed by a UCCX application (not a
   * direct call, applicationID -1) that are not outbound (preview, IVR or agent outbound legs are Cisco's outbound
   * columns). Handled = talk time > 0 — each agent of a conference handled it; a ring no one answered is RNA.
   */
  async agents(r: UtcRange, loginId?: string): Promise<AgentFact[]> {
    const params: Array<string | number> = [r.start, r.end];
    if (loginId) params.push(loginId);
    const talked = 'a.talktime > 0';
    const rows = await this.source.query(
      `SELECT ${quarterOf(this.d, 'c.startdatetime')} AS quarter, r.resourcename AS agent, r.resourceloginid AS loginid, r.extension AS extension,
        COUNT(*) AS presented,
        SUM(CASE WHEN ${talked} THEN 1 ELSE 0 END) AS handled,
        SUM(CASE WHEN ${talked} THEN a.talktime ELSE 0 END) AS talk,
        SUM(CASE WHEN ${talked} AND a.holdtime > 0 THEN a.holdtime ELSE 0 END) AS hold,
        SUM(CASE WHEN ${talked} AND a.worktime > 0 THEN a.worktime ELSE 0 END) AS work,
        SUM(CASE WHEN ${bad('a.talktime')} OR ${bad('a.holdtime')} OR ${bad('a.worktime')} THEN 1 ELSE 0 END) AS badtimes
      FROM agentconnectiondetail a
      JOIN contactcalldetail c ON ${ACD_JOIN}
      JOIN resource r ON r.resourceid = a.resourceid AND r.profileid = a.profileid
      WHERE ${range(this.d, 'c.startdatetime')} AND c.contacttype NOT IN (${OUTBOUND_TYPES}) AND c.applicationid <> -1${loginId ? ' AND r.resourceloginid = ?' : ''}
      GROUP BY 1, 2, 3, 4`,
      params,
    );
    return rows.map((x) => ({
      quarter: text(x.quarter),
      agent: text(x.agent),
      loginid: text(x.loginid),
      extension: text(x.extension),
      presented: num(x.presented),
      handled: num(x.handled),
      talk: num(x.talk),
      hold: num(x.hold),
      work: num(x.work),
      badtimes: num(x.badtimes),
    }));
  }

  /** Incoming calls, counted once each by their first leg. */
  async volume(r: UtcRange): Promise<VolumeFact[]> {
    const rows = await this.source.query(
      `SELECT ${quarterOf(this.d, 'c.startdatetime')} AS quarter, COUNT(*) AS presented,
        SUM(CASE WHEN c.contactdisposition = 2 THEN 1 ELSE 0 END) AS handled,
        SUM(CASE WHEN c.contactdisposition = 1 THEN 1 ELSE 0 END) AS abandoned
      FROM contactcalldetail c
      WHERE c.sessionseqnum = 0 AND c.contacttype = 1 AND ${range(this.d, 'c.startdatetime')}
      GROUP BY 1`,
      [r.start, r.end],
    );
    return rows.map((x) => ({ quarter: text(x.quarter), presented: num(x.presented), handled: num(x.handled), abandoned: num(x.abandoned) }));
  }

  /**
   * Abandoned Call Detail: one row per abandoned call (missed-rule.ts) — also one queued to two CSQs, also one lost
   * in the IVR before any queue (no CSQ) — never an abandon after an agent had talked.
   */
  async abandoned(r: UtcRange, csq?: string): Promise<AbandonedFact[]> {
    const params: Array<string | number> = [r.start, r.end];
    if (csq) params.push(csq);
    const csqOf = (what: string) => `SELECT ${what} FROM contactqueuedetail q, contactservicequeue csq WHERE ${LAST_LEG_QUEUE} AND csq.recordid = q.targetid`;
    // The CSQ the call was queued to first, when it waited in several.
    const firstQueued = `q.queueorder = (SELECT MIN(q.queueorder) FROM contactqueuedetail q WHERE ${LAST_LEG_QUEUE})`;
    const rows = await this.source.query(
      `SELECT ${this.d.datetimeText('f.startdatetime')} AS started, CAST(f.sessionid AS VARCHAR(20)) AS sessionid, f.nodeid AS nodeid,
        f.originatordn AS caller,
        (${csqOf('MIN(csq.csqname)')} AND ${firstQueued}) AS csq,
        (SELECT SUM(${pos('q.queuetime')}) FROM contactqueuedetail q WHERE ${LAST_LEG_QUEUE}) AS queuetime,
        l.customvariable2 AS lastref, f.customvariable2 AS crmref
      FROM contactcalldetail f, contactcalldetail l
      WHERE ${ABANDONED_CALL} AND ${range(this.d, 'f.startdatetime')}${csq ? ` AND EXISTS (${csqOf('1')} AND csq.csqname = ?)` : ''}
      ORDER BY f.startdatetime, f.sessionid`,
      params,
    );
    return rows.map((x) => ({
      started: text(x.started),
      sessionid: text(x.sessionid),
      nodeid: num(x.nodeid),
      caller: text(x.caller),
      csq: text(x.csq),
      queuetime: num(x.queuetime),
      lastref: text(x.lastref),
      crmref: text(x.crmref),
    }));
  }

  /** Every CSQ each abandoned call of the range waited in on its last leg (the rollup's `csq` filter). */
  async abandonedQueues(r: UtcRange): Promise<Array<{ sessionid: string; nodeid: number; csq: string }>> {
    const rows = await this.source.query(
      `SELECT CAST(f.sessionid AS VARCHAR(20)) AS sessionid, f.nodeid AS nodeid, csq.csqname AS csq
      FROM contactcalldetail f, contactcalldetail l, contactqueuedetail q, contactservicequeue csq
      WHERE ${ABANDONED_CALL} AND ${range(this.d, 'f.startdatetime')} AND ${LAST_LEG_QUEUE} AND csq.recordid = q.targetid`,
      [r.start, r.end],
    );
    return rows.map((x) => ({ sessionid: text(x.sessionid), nodeid: num(x.nodeid), csq: text(x.csq) }));
  }

  /** Call legs of the range: the rollup checks with one statement that the days it serves have not changed. */
  async legs(r: UtcRange): Promise<number> {
    const [row] = await this.source.query(`SELECT COUNT(*) AS n FROM contactcalldetail c WHERE ${range(this.d, 'c.startdatetime')}`, [r.start, r.end]);
    return num(row?.n);
  }

  /** Call legs per UTC day of the range: which days changed, when the rollup's check found that some did. */
  async legsPerDay(r: UtcRange): Promise<Map<string, number>> {
    const rows = await this.source.query(`SELECT ${this.d.dayOf('c.startdatetime')} AS day, COUNT(*) AS n FROM contactcalldetail c WHERE ${range(this.d, 'c.startdatetime')} GROUP BY 1`, [
      r.start,
      r.end,
    ]);
    return new Map(rows.map((x) => [text(x.day), num(x.n)]));
  }

  /**
   * How many legs and agent connections a range holds now: when a settled day's counts change, UCCX (or the standby
   * it is read from) wrote rows late, and the rollup reads the day again.
   */
  async fingerprint(r: UtcRange): Promise<string> {
    const [legs] = await this.source.query(`SELECT COUNT(*) AS n FROM contactcalldetail c WHERE ${range(this.d, 'c.startdatetime')}`, [r.start, r.end]);
    const [acd] = await this.source.query(`SELECT COUNT(*) AS n FROM agentconnectiondetail a JOIN contactcalldetail c ON ${ACD_JOIN} WHERE ${range(this.d, 'c.startdatetime')}`, [r.start, r.end]);
    return `${num(legs?.n)}/${num(acd?.n)}`;
  }
}

import { ABANDONED_CALL, LAST_LEG_QUEUE } from './missed-rule';
import type { CcdrSource, Dialect, Row } from './ccdr-source';
import { localDay, localHour, localTime, type Period } from './period';

/**
 * The contact-center reports, as Cisco's stock UCCX reports define them (reference uccx.md §6), over db_cra.
 * SQL counts and sums; the portal's time zone is applied here. A call belongs to the period by the start of its leg.
 */
export interface Filters {
  csq?: string;
  agent?: string;
}

export interface CsqRow {
  csq: string;
  presented: number;
  handled: number;
  abandoned: number;
  dequeued: number;
  handledByOther: number;
  /** Queue records with a disposition Cisco does not document (or none): in `presented`, in no other column. */
  unknownDisposition: number;
  avgQueueSeconds: number;
  maxQueueSeconds: number;
  /** Cisco's "service level, abandoned calls not counted": handled within SL ÷ (presented − abandoned within SL). */
  serviceLevelPercent: number | null;
}

export interface AgentRow {
  agent: string;
  extension: string;
  presented: number;
  handled: number;
  rna: number;
  talkSeconds: number;
  holdSeconds: number;
  workSeconds: number;
  avgHandleSeconds: number | null;
}

export interface AbandonedRow {
  time: string;
  caller: string;
  csq: string;
  queueSeconds: number;
  crmRef: string;
  crmUrl: string | null;
}

export interface VolumeRow {
  bucket: string;
  presented: number;
  handled: number;
  abandoned: number;
}

export const REPORT_NAMES = ['csq', 'agents', 'abandoned', 'volume'] as const;
export type ReportName = (typeof REPORT_NAMES)[number];
export const isReportName = (name: string): name is ReportName => (REPORT_NAMES as readonly string[]).includes(name);

export const SERVICE_LEVEL_VARIANT = 'abandoned calls not counted: handled within SL ÷ (presented − abandoned within SL)';

const num = (v: string | number | null | undefined) => (v === null || v === undefined || v === '' ? 0 : Number(v));
const round1 = (n: number) => Math.round(n * 10) / 10;
const REF = /^(CONTACT|LEAD|COMPANY|DEAL):(\d{1,12})$/;

function range(d: Dialect, column: string): string {
  return `${column} >= ${d.datetimeParam} AND ${column} < ${d.datetimeParam}`;
}

const LEG_JOIN = 'c.sessionid = q.sessionid AND c.sessionseqnum = q.sessionseqnum AND c.nodeid = q.nodeid AND c.profileid = q.profileid';

export class Reports {
  constructor(
    private readonly source: CcdrSource,
    private readonly crmBaseUrl: string | null,
  ) {}

  private get d(): Dialect {
    return this.source.dialect;
  }

  /** One report by its name in the API and CSV links. */
  table(name: ReportName, p: Period, f: Filters, by: 'hour' | 'day'): Promise<object[]> {
    switch (name) {
      case 'csq':
        return this.csqActivity(p, f);
      case 'agents':
        return this.agentSummary(p, f);
      case 'abandoned':
        return this.abandoned(p, f);
      case 'volume':
        return this.volume(p, by);
    }
  }

  async csqActivity(p: Period, f: Filters = {}): Promise<CsqRow[]> {
    const params: Array<string | number> = [p.utcStart, p.utcEnd];
    if (f.csq) params.push(f.csq);
    const rows = await this.source.query(
      `SELECT csq.csqname AS csq, COUNT(*) AS presented,
        SUM(CASE WHEN q.disposition = 2 THEN 1 ELSE 0 END) AS handled,
        SUM(CASE WHEN q.disposition = 1 THEN 1 ELSE 0 END) AS abandoned,
        SUM(CASE WHEN q.disposition = 3 THEN 1 ELSE 0 END) AS dequeued,
        SUM(CASE WHEN q.disposition IN (4, 5) THEN 1 ELSE 0 END) AS byother,
        SUM(CASE WHEN q.disposition IN (1, 2, 3, 4, 5) THEN 0 ELSE 1 END) AS unknowndisp,
        SUM(q.queuetime) AS queuetotal, MAX(q.queuetime) AS queuemax,
        SUM(CASE WHEN q.disposition = 2 AND q.metservicelevel = 't' THEN 1 ELSE 0 END) AS handledin,
        SUM(CASE WHEN q.disposition = 1 AND q.metservicelevel = 't' THEN 1 ELSE 0 END) AS abandonedin
      FROM contactqueuedetail q
      JOIN contactcalldetail c ON ${LEG_JOIN}
      JOIN contactservicequeue csq ON csq.recordid = q.targetid
      WHERE q.targettype = 0 AND ${range(this.d, 'c.startdatetime')}${f.csq ? ' AND csq.csqname = ?' : ''}
      GROUP BY csq.csqname ORDER BY csq.csqname`,
      params,
    );
    return rows.map((r) => {
      const presented = num(r.presented);
      const slBase = presented - num(r.abandonedin);
      return {
        csq: String(r.csq),
        presented,
        handled: num(r.handled),
        abandoned: num(r.abandoned),
        dequeued: num(r.dequeued),
        handledByOther: num(r.byother),
        unknownDisposition: num(r.unknowndisp),
        avgQueueSeconds: presented ? round1(num(r.queuetotal) / presented) : 0,
        maxQueueSeconds: num(r.queuemax),
        serviceLevelPercent: slBase > 0 ? round1((num(r.handledin) / slBase) * 100) : null,
      };
    });
  }

  async agentSummary(p: Period, f: Filters = {}): Promise<AgentRow[]> {
    const params: Array<string | number> = [p.utcStart, p.utcEnd];
    if (f.agent) params.push(f.agent);
    const rows = await this.source.query(
      `SELECT r.resourcename AS agent, r.extension AS extension, COUNT(*) AS presented,
        SUM(CASE WHEN a.talktime > 0 THEN 1 ELSE 0 END) AS handled,
        SUM(CASE WHEN a.talktime > 0 THEN a.talktime ELSE 0 END) AS talk,
        SUM(CASE WHEN a.talktime > 0 THEN a.holdtime ELSE 0 END) AS hold,
        SUM(CASE WHEN a.talktime > 0 THEN a.worktime ELSE 0 END) AS work
      FROM agentconnectiondetail a
      JOIN contactcalldetail c ON c.sessionid = a.sessionid AND c.sessionseqnum = a.sessionseqnum AND c.nodeid = a.nodeid AND c.profileid = a.profileid
      JOIN resource r ON r.resourceid = a.resourceid AND r.profileid = a.profileid
      WHERE ${range(this.d, 'c.startdatetime')}${f.agent ? ' AND r.resourceloginid = ?' : ''}
      GROUP BY r.resourcename, r.extension ORDER BY r.resourcename`,
      params,
    );
    return rows.map((r) => {
      const handled = num(r.handled);
      const talk = num(r.talk);
      const hold = num(r.hold);
      const work = num(r.work);
      return {
        agent: String(r.agent),
        extension: String(r.extension ?? ''),
        presented: num(r.presented),
        handled,
        rna: num(r.presented) - handled,
        talkSeconds: talk,
        holdSeconds: hold,
        workSeconds: work,
        avgHandleSeconds: handled ? round1((talk + hold + work) / handled) : null,
      };
    });
  }

  /**
   * Cisco's Abandoned Call Detail: one row per abandoned call (stats/missed-rule.ts) — also one queued to two CSQs,
   * also one lost in the IVR before any queue (no CSQ) — never an abandon after an agent had talked.
   */
  async abandoned(p: Period, f: Filters = {}): Promise<AbandonedRow[]> {
    const params: Array<string | number> = [p.utcStart, p.utcEnd];
    if (f.csq) params.push(f.csq);
    const csqOf = (what: string) => `SELECT ${what} FROM contactqueuedetail q, contactservicequeue csq WHERE ${LAST_LEG_QUEUE} AND csq.recordid = q.targetid`;
    // The CSQ the call was queued to first, when it waited in several.
    const firstQueued = `q.queueorder = (SELECT MIN(q.queueorder) FROM contactqueuedetail q WHERE ${LAST_LEG_QUEUE})`;
    const rows = await this.source.query(
      `SELECT ${this.d.datetimeText('f.startdatetime')} AS started, f.originatordn AS caller,
        (${csqOf('MIN(csq.csqname)')} AND ${firstQueued}) AS csq,
        (SELECT SUM(q.queuetime) FROM contactqueuedetail q WHERE ${LAST_LEG_QUEUE}) AS queuetime,
        l.customvariable2 AS lastref, f.customvariable2 AS crmref
      FROM contactcalldetail f, contactcalldetail l
      WHERE ${ABANDONED_CALL} AND ${range(this.d, 'f.startdatetime')}${f.csq ? ` AND EXISTS (${csqOf('1')} AND csq.csqname = ?)` : ''}
      ORDER BY f.startdatetime, f.sessionid`,
      params,
    );
    return rows.map((r) => {
      const ref = REF.exec(String(r.lastref ?? '').trim()) ?? REF.exec(String(r.crmref ?? '').trim());
      return {
        time: localTime(String(r.started), p.timeZone),
        caller: String(r.caller ?? ''),
        csq: String(r.csq ?? ''),
        queueSeconds: num(r.queuetime),
        crmRef: ref ? ref[0] : '',
        crmUrl: ref && this.crmBaseUrl ? `${this.crmBaseUrl.replace(/\/+$/, '')}/crm/${ref[1]!.toLowerCase()}/details/${ref[2]}/` : null,
      };
    });
  }

  /** Incoming calls (first leg) by local hour or day; the doubled hour of a DST end stays two buckets. */
  async volume(p: Period, by: 'hour' | 'day'): Promise<VolumeRow[]> {
    const d = this.d;
    const col = 'c.startdatetime';
    // Grouped by position: Informix 12.10 does not accept GROUP BY of a whole expression.
    const quarter = `${d.hourPrefix(col)} || CASE WHEN ${d.minutes(col)} < '15' THEN '00' WHEN ${d.minutes(col)} < '30' THEN '15' WHEN ${d.minutes(col)} < '45' THEN '30' ELSE '45' END`;
    const rows: Row[] = await this.source.query(
      `SELECT ${quarter} AS quarter, COUNT(*) AS presented,
        SUM(CASE WHEN c.contactdisposition = 2 THEN 1 ELSE 0 END) AS handled,
        SUM(CASE WHEN c.contactdisposition = 1 THEN 1 ELSE 0 END) AS abandoned
      FROM contactcalldetail c
      WHERE c.sessionseqnum = 0 AND c.contacttype = 1 AND ${range(d, col)}
      GROUP BY 1`,
      [p.utcStart, p.utcEnd],
    );
    const buckets = new Map<string, VolumeRow>();
    for (const r of rows) {
      const utc = `${String(r.quarter)}:00.000`;
      const bucket = by === 'hour' ? localHour(utc, p.timeZone) : localDay(utc, p.timeZone);
      const b = buckets.get(bucket) ?? { bucket, presented: 0, handled: 0, abandoned: 0 };
      b.presented += num(r.presented);
      b.handled += num(r.handled);
      b.abandoned += num(r.abandoned);
      buckets.set(bucket, b);
    }
    // Chronological: hours sort by their UTC instant (the offset is part of the label).
    const key = (b: string) => (by === 'hour' ? Date.parse(b.replace(' ', 'T').replace(/(\d{2}:00)([+-])/, '$1:00$2')) : Date.parse(b));
    return [...buckets.values()].sort((a, b) => key(a.bucket) - key(b.bucket));
  }
}

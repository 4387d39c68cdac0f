import type { CcdrSource } from '../stats/ccdr-source';
import { ABANDONED_CALL } from '../stats/missed-rule';

/**
 * Missed calls: the calls abandoned as Cisco's report counts them (stats/missed-rule.ts). CCDR rows are written when
 * a call ends, so the watermark is the last leg's end time, with the session id (compared and sorted as the number it
 * is) for ties; pages are bounded in the database.
 */
export interface AbandonedCall {
  sessionId: string;
  nodeId: number;
  startUtc: string;
  endUtc: string;
  caller: string;
  crmRef: string;
}

export interface Watermark {
  endUtc: string;
  sessionId: string;
}

export async function abandonedAfter(source: CcdrSource, after: Watermark, untilUtc: string, limit: number): Promise<AbandonedCall[]> {
  const d = source.dialect;
  const sql = d.firstRows(
    `SELECT CAST(f.sessionid AS VARCHAR(20)) AS sessionid, f.nodeid AS nodeid, ${d.datetimeText('f.startdatetime')} AS startutc,
      ${d.datetimeText('l.enddatetime')} AS endutc, f.originatordn AS caller, f.customvariable2 AS firstref, l.customvariable2 AS lastref
    FROM contactcalldetail f, contactcalldetail l
    WHERE ${ABANDONED_CALL}
      AND (l.enddatetime > ${d.datetimeParam} OR (l.enddatetime = ${d.datetimeParam} AND f.sessionid > ?))
      AND l.enddatetime <= ${d.datetimeParam}
    ORDER BY l.enddatetime, f.sessionid`,
    limit,
  );
  const rows = await source.query(sql, [after.endUtc, after.endUtc, Number(after.sessionId || 0), untilUtc]);
  return rows.map((r) => ({
    sessionId: String(r.sessionid),
    nodeId: Number(r.nodeid),
    startUtc: String(r.startutc),
    endUtc: String(r.endutc),
    caller: String(r.caller ?? '').trim(),
    // The record the script named last wins (a queue application may set it after the main one).
    crmRef: String(r.lastref ?? '').trim() || String(r.firstref ?? '').trim(),
  }));
}

/** Seconds from the first leg's start to the last leg's end. */
export function callSeconds(c: Pick<AbandonedCall, 'startUtc' | 'endUtc'>): number {
  const t = (s: string) => Date.parse(`${s.replace(' ', 'T')}Z`);
  return Math.max(0, Math.round((t(c.endUtc) - t(c.startUtc)) / 1000));
}

import type { CcdrSource } from '../stats/ccdr-source';

/**
 * Missed calls as a manager counts them: a call whose first leg came in (incoming, sequence 0), whose LAST leg was
 * abandoned, and on which no agent talked on any leg. So a caller who hung up in the queue application a main IVR
 * redirected him to (the first leg is marked handled by the redirect) is a missed call; a call an agent answered and
 * then transferred to a queue where the caller gave up is not (Cisco's Abandoned Call Detail does not list it
 * either); one abandoned in the IVR before any queue is. CCDR rows are written when a call ends, so the watermark is
 * the last leg's end time, with the session id (compared and sorted as the number it is) for ties; pages are bounded
 * in the database.
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
    WHERE f.sessionseqnum = 0 AND f.contacttype = 1
      AND l.sessionid = f.sessionid AND l.nodeid = f.nodeid AND l.profileid = f.profileid
      AND l.sessionseqnum = (SELECT MAX(x.sessionseqnum) FROM contactcalldetail x WHERE x.sessionid = f.sessionid AND x.nodeid = f.nodeid AND x.profileid = f.profileid)
      AND l.contactdisposition = 1
      AND NOT EXISTS (SELECT 1 FROM agentconnectiondetail a WHERE a.sessionid = f.sessionid AND a.nodeid = f.nodeid AND a.talktime > 0)
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

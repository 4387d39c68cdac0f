import type { CcdrSource } from '../stats/ccdr-source';

/**
 * Calls UCCX abandoned before an agent answered (incoming, first leg, disposition 1), in the order they completed.
 * CCDR rows are written when a call ends, so the watermark is the end time (with the session id for ties).
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
  const rows = await source.query(
    `SELECT CAST(c.sessionid AS VARCHAR(20)) AS sessionid, c.nodeid AS nodeid, ${d.datetimeText('c.startdatetime')} AS startutc,
      ${d.datetimeText('c.enddatetime')} AS endutc, c.originatordn AS caller, c.customvariable2 AS crmref
    FROM contactcalldetail c
    WHERE c.sessionseqnum = 0 AND c.contacttype = 1 AND c.contactdisposition = 1
      AND (c.enddatetime > ${d.datetimeParam} OR (c.enddatetime = ${d.datetimeParam} AND CAST(c.sessionid AS VARCHAR(20)) > ?))
      AND c.enddatetime <= ${d.datetimeParam}
    ORDER BY c.enddatetime, c.sessionid`,
    [after.endUtc, after.endUtc, after.sessionId, untilUtc],
  );
  return rows.slice(0, limit).map((r) => ({
    sessionId: String(r.sessionid),
    nodeId: Number(r.nodeid),
    startUtc: String(r.startutc),
    endUtc: String(r.endutc),
    caller: String(r.caller ?? '').trim(),
    crmRef: String(r.crmref ?? '').trim(),
  }));
}

/**
 * One call abandoned as Cisco's Abandoned Call Detail report and a manager count it, over `contactcalldetail f` (the
 * call's first leg) and `l` (its last leg): the first leg came in, the last leg was abandoned, and no agent talked on
 * any leg. So a caller lost in the queue application an IVR redirected him to counts (that first leg is "handled" by
 * the redirect), a call abandoned in the IVR before any queue counts (no CSQ), one an agent answered and transferred
 * to a queue where the caller hung up does not. The abandoned-call report and the missed calls both use it. Plain SQL
 * that Informix 12.10 and SQLite read alike.
 */
export const ABANDONED_CALL = `f.sessionseqnum = 0 AND f.contacttype = 1
      AND l.sessionid = f.sessionid AND l.nodeid = f.nodeid AND l.profileid = f.profileid
      AND l.sessionseqnum = (SELECT MAX(x.sessionseqnum) FROM contactcalldetail x WHERE x.sessionid = f.sessionid AND x.nodeid = f.nodeid AND x.profileid = f.profileid)
      AND l.contactdisposition = 1
      AND NOT EXISTS (SELECT 1 FROM agentconnectiondetail a WHERE a.sessionid = f.sessionid AND a.nodeid = f.nodeid AND a.talktime > 0)`;

/** The queue records of the last leg `l` (for the CSQ a caller gave up in, and how long he waited). */
export const LAST_LEG_QUEUE = 'q.sessionid = l.sessionid AND q.sessionseqnum = l.sessionseqnum AND q.nodeid = l.nodeid AND q.profileid = l.profileid AND q.targettype = 0';

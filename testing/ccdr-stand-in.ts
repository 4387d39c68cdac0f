import type Database from 'better-sqlite3';

/** Writes db_cra rows the way UCCX does after a call completes (Cisco UCCX Database Schema Guide 12.5(1)). Tests and the lab. */
export interface CallSpec {
  session: number;
  start: string; // UTC 'YYYY-MM-DD HH:MM:SS.fff'
  caller?: string;
  disposition: 1 | 2; // CCD: 1 abandoned, 2 handled
  crmRef?: string;
  contactType?: number;
  /** -1 for a direct (non-ACD) call; default: the crm_lookup application. */
  applicationId?: number;
  seq?: number;
  queues?: Array<{ csq: number; disposition: 1 | 2 | 3 | 4 | 5; queueTime: number; met: boolean }>;
  agents?: Array<{ resource: number; ring: number; talk: number; hold: number; work: number }>;
  /** The leg's whole length in seconds (default: queue + agents + 5 s of IVR). */
  seconds?: number;
}

export function seedConfig(db: Database.Database): void {
  const csq = db.prepare(
    `INSERT INTO contactservicequeue (recordid, contactservicequeueid, profileid, csqname, servicelevel, servicelevelpercentage, active, dateinactive) VALUES (?, ?, 1, ?, ?, 80, ?, ?)`,
  );
  csq.run(7, 1, 'Sales', 20, 'f', '2024-02-15 10:00:00.000'); // edited later: a new record, same queue
  csq.run(9, 1, 'Sales', 20, 't', null);
  csq.run(8, 2, 'Support', 30, 't', null);
  const res = db.prepare(`INSERT INTO resource (resourceid, profileid, resourceloginid, resourcename, active, extension) VALUES (?, 1, ?, ?, ?, ?)`);
  res.run(12, 'ivanov', 'Ivanov', 'f', '1021');
  res.run(14, 'ivanov', 'Ivanov', 't', '1021'); // re-saved agent: a second resourceID
  res.run(13, 'petrova', 'Petrova', 't', '1022');
}

const addSeconds = (utc: string, s: number) => new Date(Date.parse(`${utc.replace(' ', 'T')}Z`) + s * 1000).toISOString().replace('T', ' ').replace('Z', '');

export function insertCall(db: Database.Database, c: CallSpec): void {
  const seq = c.seq ?? 0;
  const queued = (c.queues ?? []).reduce((s, q) => s + q.queueTime, 0);
  const talked = (c.agents ?? []).reduce((s, a) => s + a.ring + a.talk + a.hold, 0);
  const end = addSeconds(c.start, c.seconds ?? queued + talked + 5);
  db.prepare(
    `INSERT INTO contactcalldetail (sessionid, sessionseqnum, nodeid, profileid, contacttype, contactdisposition, originatortype, originatordn,
      destinationtype, startdatetime, enddatetime, callednumber, applicationid, applicationname, connecttime, customvariable1, customvariable2)
     VALUES (?, ?, 1, 1, ?, ?, 3, ?, 2, ?, ?, '5000', ?, 'crm_lookup', ?, ?, ?)`,
  ).run(c.session, seq, c.contactType ?? 1, c.disposition, c.caller ?? '79001112233', c.start, end, c.applicationId ?? 3, talked, c.caller ?? '79001112233', c.crmRef ?? '');
  const cqd = db.prepare(
    `INSERT INTO contactqueuedetail (sessionid, sessionseqnum, profileid, nodeid, targetid, targettype, qindex, queueorder, disposition, metservicelevel, queuetime, startdatetime, enddatetime)
     VALUES (?, ?, 1, 1, ?, 0, 1, ?, ?, ?, ?, ?, ?)`,
  );
  (c.queues ?? []).forEach((q, i) => cqd.run(c.session, seq, q.csq, i + 1, q.disposition, q.met ? 't' : 'f', q.queueTime, c.start, addSeconds(c.start, q.queueTime)));
  const acd = db.prepare(
    `INSERT INTO agentconnectiondetail (sessionid, sessionseqnum, nodeid, profileid, resourceid, startdatetime, enddatetime, qindex, ringtime, talktime, holdtime, worktime, rna)
     VALUES (?, ?, 1, 1, ?, ?, ?, 1, ?, ?, ?, ?, ?)`,
  );
  let t = addSeconds(c.start, queued);
  for (const a of c.agents ?? []) {
    acd.run(c.session, seq, a.resource, t, addSeconds(t, a.ring + a.talk + a.hold), a.ring, a.talk, a.hold, a.work, a.talk > 0 ? 'f' : 't');
    t = addSeconds(t, a.ring + a.talk + a.hold);
  }
}

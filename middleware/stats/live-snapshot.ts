import type { Dialect, Row } from './ccdr-source';

/**
 * What a supervisor asks first — how many wait, for how long, who is free — from UCCX's real-time snapshot in db_cra:
 * RtCSQsSummary (one row per CSQ) and RtICDStatistics (the whole system), which UCCX writes every Data Writing
 * Interval once "Tools > Real Time Snapshot Config" enables them (conformance/uccx/cisco-docs/). Pure: rows in,
 * a snapshot out; the reading lives in live-reader.ts.
 */

/** What both real-time tables hold, by the names Cisco documents (conformance/uccx/cisco-docs/). */
const SHARED_COLUMNS = [
  'loggedinagents',
  'availableagents',
  'unavailableagents',
  'talkingagents',
  'reservedagents',
  'workingagents',
  'callswaiting',
  'oldestcontact',
  'totalcalls',
  'callshandled',
  'callsabandoned',
  'avgwaitduration',
  'longestwaitduration',
  'avgtalkduration',
  'startdatetime',
  'enddatetime',
] as const;

/** RtCSQsSummary: one row per CSQ (rtcsqssummary-12.5.txt). */
export const CSQ_COLUMNS = ['csqname', ...SHARED_COLUMNS, 'callsdequeued'] as const;

/** RtICDStatistics: a row per contact type (rticdstatistics-12.5.txt; no dequeued count: the table has none). */
export const SYSTEM_COLUMNS = ['type', 'totalcsqs', ...SHARED_COLUMNS] as const;

/**
 * The two statements of one read: the same for every viewer, whatever their number. The snapshot's times are
 * `datetime year to second` (no fraction): Informix gives them as text to the second.
 */
export function liveStatements(d: Dialect): { csq: string; system: string } {
  const time = (c: string) => (d.name === 'informix' ? `TO_CHAR(${c}, '%Y-%m-%d %H:%M:%S') AS ${c}` : c);
  const cols = (names: readonly string[]) => names.map((c) => (c === 'startdatetime' || c === 'enddatetime' ? time(c) : c)).join(', ');
  return {
    csq: `SELECT ${cols(CSQ_COLUMNS)} FROM rtcsqssummary`,
    system: `SELECT ${cols(SYSTEM_COLUMNS)} FROM rticdstatistics`,
  };
}

export interface AgentCounts {
  loggedIn: number;
  /** Available (Ready). */
  ready: number;
  /** Unavailable (Not Ready). */
  notReady: number;
  /** In session (Talking). */
  talking: number;
  /** Selected (Reserved: a call is ringing at the agent). */
  reserved: number;
  /** Work (after-call work). */
  working: number;
}

export interface CallCounts {
  total: number;
  handled: number;
  abandoned: number;
  /** RtCSQsSummary only (RtICDStatistics has no such column): null for the totals. */
  dequeued: number | null;
  avgWaitSeconds: number | null;
  longestWaitSeconds: number | null;
  avgTalkSeconds: number | null;
}

export interface LiveQueue {
  name: string;
  waiting: number;
  oldestWaitSeconds: number | null;
  agents: AgentCounts;
  /** Since the snapshot's collection start (`since`): UCCX's "today" counters. */
  calls: CallCounts;
  /** Today's service level from the call records (the CSQ report's definition), read less often; null: not known. */
  serviceLevelPercent: number | null;
}

export type LiveState = 'starting' | 'live' | 'stale' | 'off' | 'unreachable' | 'disabled';
/** A part of the snapshot UCCX does not write: the checkbox to tick in Real Time Snapshot Config. */
export type LiveGap = 'csq-summary' | 'system-summary';

export interface LiveSnapshot {
  /** Where it came from: UCCX's database (db_cra) through the configured call-record connection. */
  source: 'db_cra';
  /** Which node's db_cra (its host), once read. */
  node?: string;
  state: LiveState;
  /** The interval it is read at (UCCX's Data Writing Interval, LIVE_INTERVAL_SECONDS). */
  intervalSeconds: number;
  /** When the middleware last read it (ISO); null before the first read. */
  readAt: string | null;
  /** When UCCX last wrote it (`enddatetime`, ISO UTC); null when nothing was written. */
  writtenAt: string | null;
  /** Since when its counters count (`startdatetime`, ISO UTC). */
  since: string | null;
  /** readAt − writtenAt in seconds: how old the numbers are. */
  ageSeconds: number | null;
  queues: LiveQueue[];
  totals: (Omit<LiveQueue, 'name' | 'serviceLevelPercent'> & { csqs: number; type: string }) | null;
  gaps: LiveGap[];
  /** Why the state is not live, in English for logs and wallboards (the page words it in ru/en). */
  problem: string | null;
}

/** UCCX writes -1 for a NULL number (schema guide, "Database Table Details"). */
function count(v: Row[string] | undefined): number {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
}

/** The duration columns hold milliseconds (conformance/uccx/clients/: public readers divide them by 1000). */
function seconds(v: Row[string] | undefined): number | null {
  const n = Number(v);
  return v === null || v === undefined || v === '' || !Number.isFinite(n) || n < 0 ? null : Math.round(n / 1000);
}

/** `YYYY-MM-DD HH:MM:SS[.fff]` UTC (as the dialect gives DATETIME) → epoch ms; null when absent or unreadable. */
export function utcMs(v: Row[string] | undefined): number | null {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/.test(v)) return null;
  const ms = Date.parse(`${v.slice(0, 19).replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? null : ms;
}

const agentsOf = (r: Row): AgentCounts => ({
  loggedIn: count(r.loggedinagents),
  ready: count(r.availableagents),
  notReady: count(r.unavailableagents),
  talking: count(r.talkingagents),
  reserved: count(r.reservedagents),
  working: count(r.workingagents),
});

const callsOf = (r: Row, withDequeued: boolean): CallCounts => ({
  total: count(r.totalcalls),
  handled: count(r.callshandled),
  abandoned: count(r.callsabandoned),
  dequeued: withDequeued ? count(r.callsdequeued) : null,
  avgWaitSeconds: seconds(r.avgwaitduration),
  longestWaitSeconds: seconds(r.longestwaitduration),
  avgTalkSeconds: seconds(r.avgtalkduration),
});

export interface SnapshotInput {
  csqRows: Row[];
  systemRows: Row[];
  now: number;
  intervalSeconds: number;
  serviceLevel?: ReadonlyMap<string, number | null>;
}

/** Older than two intervals and ten seconds: UCCX has stopped writing (disabled, or its engine is down). */
export function staleAfterSeconds(intervalSeconds: number): number {
  return 2 * intervalSeconds + 10;
}

export function buildSnapshot(i: SnapshotInput): LiveSnapshot {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const queues: LiveQueue[] = i.csqRows
    .map((r) => ({
      name: String(r.csqname ?? '').trim(),
      waiting: count(r.callswaiting),
      oldestWaitSeconds: count(r.callswaiting) ? seconds(r.oldestcontact) : null,
      agents: agentsOf(r),
      calls: callsOf(r, true),
      serviceLevelPercent: i.serviceLevel?.get(String(r.csqname ?? '').trim()) ?? null,
    }))
    .filter((q) => q.name)
    .sort((a, b) => a.name.localeCompare(b.name));
  // RtICDStatistics has a row per contact type; the voice row is the phone contact center's.
  const sys = i.systemRows.find((r) => /voice/i.test(String(r.type ?? ''))) ?? i.systemRows[0];
  const totals = sys
    ? {
        type: String(sys.type ?? '').trim(),
        csqs: count(sys.totalcsqs),
        waiting: count(sys.callswaiting),
        oldestWaitSeconds: count(sys.callswaiting) ? seconds(sys.oldestcontact) : null,
        agents: agentsOf(sys),
        calls: callsOf(sys, false),
      }
    : null;
  const written = [...i.csqRows, ...i.systemRows].map((r) => utcMs(r.enddatetime)).filter((x): x is number => x !== null);
  const started = [...i.csqRows, ...i.systemRows].map((r) => utcMs(r.startdatetime)).filter((x): x is number => x !== null);
  const writtenAt = written.length ? Math.max(...written) : null;
  const since = started.length ? Math.min(...started) : null;
  const ageSeconds = writtenAt === null ? null : Math.max(0, Math.round((i.now - writtenAt) / 1000));
  const gaps: LiveGap[] = [];
  if (!i.csqRows.length && i.systemRows.length) gaps.push('csq-summary');
  if (i.csqRows.length && !i.systemRows.length) gaps.push('system-summary');
  let state: LiveState = 'live';
  let problem: string | null = null;
  if (!i.csqRows.length && !i.systemRows.length) {
    state = 'off';
    problem =
      'UCCX writes no real-time snapshot: in Unified CCX Administration, Tools > Real Time Snapshot Config, tick Data Writing Enable, Cisco Unified CCX CSQs Summary and Cisco Unified CCX System Summary';
  } else if (ageSeconds === null || ageSeconds > staleAfterSeconds(i.intervalSeconds)) {
    state = 'stale';
    problem = `UCCX last wrote the real-time snapshot ${ageSeconds === null ? 'at an unknown time' : `${ageSeconds} s ago`} (interval ${i.intervalSeconds} s): Data Writing Enable was turned off in Tools > Real Time Snapshot Config, or the UCCX engine is not running`;
  } else if (gaps.length) {
    problem = `UCCX writes only part of the snapshot: tick ${gaps.map((g) => (g === 'csq-summary' ? 'Cisco Unified CCX CSQs Summary' : 'Cisco Unified CCX System Summary')).join(' and ')} in Tools > Real Time Snapshot Config`;
  }
  return {
    source: 'db_cra',
    state,
    intervalSeconds: i.intervalSeconds,
    readAt: iso(i.now),
    writtenAt: iso(writtenAt),
    since: iso(since),
    ageSeconds,
    queues,
    totals,
    gaps,
    problem,
  };
}

/** The snapshot before the first read, or with the live view turned off. */
export function emptySnapshot(state: 'starting' | 'disabled', intervalSeconds: number, problem: string | null = null): LiveSnapshot {
  return { source: 'db_cra', state, intervalSeconds, readAt: null, writtenAt: null, since: null, ageSeconds: null, queues: [], totals: null, gaps: [], problem };
}

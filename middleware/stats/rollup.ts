import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import moment from 'moment-timezone';
import type { Logger } from '../log';
import { Poller } from '../poller';
import { UTC_TEXT } from './period';
import { LiveFacts, type AbandonedFact, type AgentFact, type CsqFact, type ReportFacts, type UtcRange, type VolumeFact } from './report-facts';
import type { CcdrSource } from './ccdr-source';
import type { Config } from '../config';
import { join } from 'node:path';
import { SqliteReaders } from './sqlite-readers';

/**
 * The reports' facts of settled UTC days, kept beside the store (a cache of db_cra, one file per middleware node):
 * a month's report adds up ~3,000 quarter-hour rows instead of reading three million call records from UCCX again.
 * A day is rolled up once it ended `settleMs` ago (UCCX writes a call's rows when it completes); days of the last
 * `verifyDays` are checked on every refresh by their row counts and read again when UCCX (or the standby node) wrote
 * rows late. Whatever is not rolled up — today, a day that failed — is read live, so a report is never partial.
 * The facts are the live statements' own rows (report-facts.ts): one definition for both paths.
 * Longer than our usual file on purpose: the rollup's schema, its refresh and its reads answer one question together.
 */
const DAY = 'YYYY-MM-DD';
const CHECK_REUSE_MS = 10_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rolled_day (day TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, rolled_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS csq_q (quarter TEXT NOT NULL, csq TEXT NOT NULL, presented INT, handled INT, abandoned INT, dequeued INT,
  byother INT, unknowndisp INT, badtimes INT, queuetotal INT, queuemax INT, handledin INT, abandonedin INT, PRIMARY KEY (quarter, csq));
CREATE TABLE IF NOT EXISTS agent_q (quarter TEXT NOT NULL, agent TEXT NOT NULL, loginid TEXT NOT NULL, extension TEXT NOT NULL,
  presented INT, handled INT, talk INT, hold INT, work INT, badtimes INT, PRIMARY KEY (quarter, agent, loginid, extension));
CREATE TABLE IF NOT EXISTS volume_q (quarter TEXT PRIMARY KEY, presented INT, handled INT, abandoned INT);
-- A day's abandoned calls as one JSON array of AbandonedRecord, in the report's order: a month is 31 reads, not
-- 100 000 rows to read and copy between threads one by one.
CREATE TABLE IF NOT EXISTS abandoned_day (day TEXT PRIMARY KEY, calls TEXT NOT NULL);
`;

/** An abandoned call as kept: the fact's fields in order, then every CSQ it waited in (the `csq` filter). */
type AbandonedRecord = [string, string, number, string, string, number, string, string, string[]];

const bySession = (a: { started: string; sessionid: string }, b: { started: string; sessionid: string }) =>
  a.started < b.started ? -1 : a.started > b.started ? 1 : a.sessionid.length - b.sessionid.length || (a.sessionid < b.sessionid ? -1 : a.sessionid > b.sessionid ? 1 : 0);

export interface RollupOptions {
  /** Which call records this rollup summarises (a digest of the source's configuration): another source starts afresh. */
  sourceId: string;
  settleMs: number;
  verifyDays: number;
  /** How many days back from today are kept rolled up (the API's longest period is 366 days). */
  keepDays: number;
  /** Days read from db_cra per refresh, so a first start does not load UCCX with a year at once. */
  daysPerRefresh: number;
  now?: () => number;
}

export interface RollupStatus {
  days: number;
  newest: string | null;
  lastRefresh: string | null;
  lastError: string | null;
}

const dayRange = (day: string): UtcRange => {
  const start = moment.utc(day, DAY, true);
  return { start: start.format(UTC_TEXT), end: start.clone().add(1, 'day').format(UTC_TEXT) };
};

export const sourceDigest = (what: string) => createHash('sha256').update(what).digest('hex').slice(0, 16);

/** A UTC day is rolled up two hours after it ended: UCCX writes a call's records when the call completes. */
const ROLLUP_SETTLE_MS = 2 * 3_600_000;

/** The node's rollup of these call records (DATA_DIR/stats-rollup.sqlite), or null when there are none or it is off. */
export function openRollup(config: Pick<Config, 'dataDir' | 'stats'>, ccdr: CcdrSource | null): StatsRollup | null {
  const src = config.stats.source;
  if (!ccdr || !src || config.stats.rollupRefreshMs <= 0) return null;
  return new StatsRollup(join(config.dataDir, 'stats-rollup.sqlite'), new LiveFacts(ccdr), {
    sourceId: sourceDigest(src.kind === 'sqlite' ? `sqlite:${src.path}` : `odbc:${src.connections[0]}`),
    settleMs: ROLLUP_SETTLE_MS,
    verifyDays: 7,
    keepDays: 400,
    daysPerRefresh: 31,
  });
}

export class StatsRollup implements ReportFacts {
  private readonly db: Database.Database;
  private readonly readers: SqliteReaders;
  private readonly rolled = new Map<string, string>();
  private lastRefresh: string | null = null;
  private lastError: string | null = null;
  private refreshing: Promise<number> | null = null;
  private poller: Poller | null = null;
  /** Rolled days found changed by a report's check: read again on the next refresh, served live meanwhile. */
  private readonly stale = new Set<string>();
  /** One check per range for the reports of one page (they ask at once). */
  private readonly checks = new Map<string, { at: number; days: Promise<Set<string>> }>();

  constructor(
    path: string,
    private readonly live: LiveFacts,
    private readonly opts: RollupOptions,
  ) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
    const id = (this.db.prepare(`SELECT value FROM meta WHERE key = 'source'`).get() as { value: string } | undefined)?.value;
    if (id !== opts.sourceId) {
      this.db.transaction(() => {
        for (const t of ['rolled_day', 'csq_q', 'agent_q', 'volume_q', 'abandoned_day']) this.db.exec(`DELETE FROM ${t}`);
        this.db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('source', ?)`).run(opts.sourceId);
      })();
    }
    for (const r of this.db.prepare('SELECT day, fingerprint FROM rolled_day').all() as Array<{ day: string; fingerprint: string }>) this.rolled.set(r.day, r.fingerprint);
    // Reads run in a worker thread: a year's abandoned calls must not hold the event loop (and the lookups) up. One is
    // enough (a month is a few thousand rows) and keeps the memory of a month's report within its goal.
    this.readers = new SqliteReaders(path, 1);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  status(): RollupStatus {
    const days = [...this.rolled.keys()].sort();
    return { days: days.length, newest: days[days.length - 1] ?? null, lastRefresh: this.lastRefresh, lastError: this.lastError };
  }

  /** The newest UTC day whose calls have all been written: it ended `settleMs` ago. */
  private newestSettledDay(): moment.Moment {
    return moment
      .utc(this.now() - this.opts.settleMs)
      .startOf('day')
      .subtract(1, 'day');
  }

  /** Rolls up missing days (newest first, a bounded number) and re-reads recent days whose counts changed. */
  refresh(): Promise<number> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async doRefresh(): Promise<number> {
    const newest = this.newestSettledDay();
    let done = 0;
    try {
      for (let i = 0; i < this.opts.verifyDays; i++) {
        const day = newest.clone().subtract(i, 'days').format(DAY);
        const known = this.rolled.get(day);
        if (known === undefined) continue;
        const now = await this.live.fingerprint(dayRange(day));
        if (now !== known) {
          await this.rollDay(day, now);
          done += 1;
        }
      }
      for (const day of [...this.stale]) {
        this.stale.delete(day);
        if (!this.rolled.has(day)) continue;
        await this.rollDay(day, await this.live.fingerprint(dayRange(day)));
        done += 1;
      }
      for (let i = 0; i < this.opts.keepDays && done < this.opts.daysPerRefresh; i++) {
        const day = newest.clone().subtract(i, 'days').format(DAY);
        if (this.rolled.has(day)) continue;
        await this.rollDay(day, await this.live.fingerprint(dayRange(day)));
        done += 1;
      }
      this.prune(newest.clone().subtract(this.opts.keepDays, 'days').format(DAY));
      this.lastError = null;
    } catch (err) {
      this.lastError = (err as Error).message.split('\n')[0]!.slice(0, 300);
      throw err;
    } finally {
      this.lastRefresh = moment.utc(this.now()).format(UTC_TEXT);
    }
    return done;
  }

  /** Reads one UTC day from db_cra and replaces it in one transaction: readers see the old day or the new one. */
  async rollDay(day: string, fingerprint: string): Promise<void> {
    const r = dayRange(day);
    const [csq, agents, volume, abandoned, queues] = await Promise.all([this.live.csq(r), this.live.agents(r), this.live.volume(r), this.live.abandoned(r), this.live.abandonedQueues(r)]);
    const waited = new Map<string, string[]>();
    for (const q of queues) {
      const k = `${q.sessionid}/${q.nodeid}`;
      waited.set(k, [...(waited.get(k) ?? []), q.csq]);
    }
    const calls: AbandonedRecord[] = [...abandoned]
      .sort(bySession)
      .map((x) => [x.started, x.sessionid, x.nodeid, x.caller, x.csq, x.queuetime, x.lastref, x.crmref, waited.get(`${x.sessionid}/${x.nodeid}`) ?? []]);
    this.db.transaction(() => {
      this.deleteDay(day);
      const c = this.db.prepare(
        `INSERT INTO csq_q VALUES (@quarter, @csq, @presented, @handled, @abandoned, @dequeued, @byother, @unknowndisp, @badtimes, @queuetotal, @queuemax, @handledin, @abandonedin)`,
      );
      for (const x of csq) c.run(x);
      const a = this.db.prepare(`INSERT INTO agent_q VALUES (@quarter, @agent, @loginid, @extension, @presented, @handled, @talk, @hold, @work, @badtimes)`);
      for (const x of agents) a.run(x);
      const v = this.db.prepare(`INSERT INTO volume_q VALUES (@quarter, @presented, @handled, @abandoned)`);
      for (const x of volume) v.run(x);
      this.db.prepare('INSERT INTO abandoned_day VALUES (?, ?)').run(day, JSON.stringify(calls));
      this.db.prepare('INSERT OR REPLACE INTO rolled_day VALUES (?, ?, ?)').run(day, fingerprint, moment.utc(this.now()).format(UTC_TEXT));
    })();
    this.rolled.set(day, fingerprint);
    this.checks.clear();
  }

  private deleteDay(day: string): void {
    for (const t of ['csq_q', 'agent_q', 'volume_q']) this.db.prepare(`DELETE FROM ${t} WHERE quarter >= ? AND quarter <= ?`).run(`${day} 00:00`, `${day} 23:45`);
    for (const t of ['abandoned_day', 'rolled_day']) this.db.prepare(`DELETE FROM ${t} WHERE day = ?`).run(day);
  }

  private prune(before: string): void {
    const old = [...this.rolled.keys()].filter((d) => d < before);
    if (!old.length) return;
    this.db.transaction(() => old.forEach((d) => this.deleteDay(d)))();
    for (const d of old) this.rolled.delete(d);
  }

  /**
   * The rolled-up days of the range that still hold what they held when rolled up. One count of legs over each run
   * of rolled-up days (an indexed range count: cheap), compared with the counts stored; only when it differs, the
   * count per day finds which days gained rows (a late leg, an export loaded into the stand-in): those are read live
   * and rolled up again.
   */
  private servable(r: UtcRange): Promise<Set<string>> {
    const key = `${r.start}|${r.end}`;
    const now = this.now();
    for (const [k, c] of this.checks) if (now - c.at > CHECK_REUSE_MS) this.checks.delete(k);
    const cached = this.checks.get(key);
    if (cached) return cached.days;
    const days = this.checkRuns(r);
    days.catch(() => this.checks.delete(key));
    this.checks.set(key, { at: now, days });
    return days;
  }

  private async checkRuns(r: UtcRange): Promise<Set<string>> {
    const ok = new Set<string>();
    const legsOf = (day: string) => Number(this.rolled.get(day)!.split('/')[0]);
    const runs = this.pieces(r, new Set(this.rolled.keys())).filter((p) => p.rolled);
    await Promise.all(
      runs.map(async ({ range }) => {
        // Whole UTC days: a day's stored count is of the whole day.
        const first = range.start.slice(0, 10);
        const end = moment.utc(range.end, UTC_TEXT);
        const last = (end.isSame(end.clone().startOf('day')) ? end.clone().subtract(1, 'day') : end).format(DAY);
        const whole = { start: dayRange(first).start, end: dayRange(last).end };
        const days: string[] = [];
        for (let d = moment.utc(first, DAY); d.format(DAY) <= last; d.add(1, 'day')) days.push(d.format(DAY));
        if ((await this.live.legs(whole)) === days.reduce((n, d) => n + legsOf(d), 0)) {
          days.forEach((d) => ok.add(d));
          return;
        }
        const now = await this.live.legsPerDay(whole);
        for (const d of days) (legsOf(d) === (now.get(d) ?? 0) ? ok : this.stale).add(d);
      }),
    );
    if (this.stale.size) void this.refresh().catch(() => undefined);
    return ok;
  }

  /**
   * The range cut at UTC midnights into pieces read from the rollup (days rolled up and unchanged) or live (the
   * rest), adjacent pieces of one kind merged, in time order.
   */
  private pieces(r: UtcRange, servable: Set<string>): Array<{ rolled: boolean; range: UtcRange }> {
    const out: Array<{ rolled: boolean; range: UtcRange }> = [];
    const end = moment.utc(r.end, UTC_TEXT);
    for (let t = moment.utc(r.start, UTC_TEXT); t.isBefore(end);) {
      const next = moment.min(t.clone().startOf('day').add(1, 'day'), end);
      const rolled = servable.has(t.format(DAY));
      const piece = { start: t.format(UTC_TEXT), end: next.format(UTC_TEXT) };
      const last = out[out.length - 1];
      if (last && last.rolled === rolled) last.range.end = piece.end;
      else out.push({ rolled, range: piece });
      t = next;
    }
    return out;
  }

  private async each<T>(r: UtcRange, fromRollup: (q: UtcRange) => Promise<T[]>, fromLive: (q: UtcRange) => Promise<T[]>): Promise<T[]> {
    const servable = this.rolled.size ? await this.servable(r) : new Set<string>();
    const parts = await Promise.all(this.pieces(r, servable).map((p) => (p.rolled ? fromRollup(p.range) : fromLive(p.range))));
    return parts.flat();
  }

  /** Quarters are `YYYY-MM-DD HH:MM`; a range's bounds in db_cra's text compare with them on their first 16 characters. */
  private quarterArgs(q: UtcRange): [string, string] {
    return [q.start.slice(0, 16), q.end.slice(0, 16)];
  }

  private async read<T>(sql: string, params: Array<string | number>): Promise<T[]> {
    return (await this.readers.query(sql, params)) as unknown as T[];
  }

  csq(r: UtcRange, csq?: string): Promise<CsqFact[]> {
    return this.each(
      r,
      (q) => this.read<CsqFact>(`SELECT * FROM csq_q WHERE quarter >= ? AND quarter < ?${csq ? ' AND csq = ?' : ''}`, [...this.quarterArgs(q), ...(csq ? [csq] : [])]),
      (q) => this.live.csq(q, csq),
    );
  }

  agents(r: UtcRange, loginId?: string): Promise<AgentFact[]> {
    return this.each(
      r,
      (q) => this.read<AgentFact>(`SELECT * FROM agent_q WHERE quarter >= ? AND quarter < ?${loginId ? ' AND loginid = ?' : ''}`, [...this.quarterArgs(q), ...(loginId ? [loginId] : [])]),
      (q) => this.live.agents(q, loginId),
    );
  }

  volume(r: UtcRange): Promise<VolumeFact[]> {
    return this.each(
      r,
      (q) => this.read<VolumeFact>('SELECT * FROM volume_q WHERE quarter >= ? AND quarter < ?', this.quarterArgs(q)),
      (q) => this.live.volume(q),
    );
  }

  abandoned(r: UtcRange, csq?: string): Promise<AbandonedFact[]> {
    return this.each(
      r,
      async (q) => {
        const days = await this.read<{ calls: string }>('SELECT calls FROM abandoned_day WHERE day >= ? AND day <= ? ORDER BY day', [q.start.slice(0, 10), q.end.slice(0, 10)]);
        const out: AbandonedFact[] = [];
        for (const d of days) {
          for (const [started, sessionid, nodeid, caller, first, queuetime, lastref, crmref, waited] of JSON.parse(d.calls) as AbandonedRecord[]) {
            if (started < q.start || started >= q.end || (csq && !waited.includes(csq))) continue;
            out.push({ started, sessionid, nodeid, caller, csq: first, queuetime, lastref, crmref });
          }
        }
        return out;
      },
      (q) => this.live.abandoned(q, csq),
    );
  }

  /** Refreshes every `everyMs`; at once again while a first start still has days to read. */
  start(everyMs: number, log: Pick<Logger, 'warn' | 'info'>): void {
    if (this.poller || everyMs <= 0) return;
    this.poller = new Poller({
      what: 'the statistics rollup refresh',
      everyMs,
      work: () =>
        this.refresh().then(
          (n) => {
            if (n) log.info({ read: n, ...this.status() }, 'statistics rollup: days read from the call records');
            return n >= this.opts.daysPerRefresh ? 1000 : everyMs;
          },
          (err: Error) => {
            log.warn({ err }, 'statistics rollup refresh failed; reports read the call records directly meanwhile');
            return everyMs;
          },
        ),
      log,
    });
    this.poller.start();
  }

  async close(): Promise<void> {
    this.poller?.stop();
    await this.refreshing?.catch(() => undefined);
    await this.readers.close();
    if (this.db.open) this.db.close();
  }
}

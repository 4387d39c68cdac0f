import { SqliteCcdrSource } from '../../middleware/stats/ccdr-source';
import { periodToUtc } from '../../middleware/stats/period';
import { Reports } from '../../middleware/stats/reports';
import { LiveFacts } from '../../middleware/stats/report-facts';
import { StatsRollup } from '../../middleware/stats/rollup';

/** The month's rollup as the middleware keeps it: every day of March settled on 2 April. */
const rollupOf = (source: SqliteCcdrSource, path: string) =>
  new StatsRollup(path, new LiveFacts(source), { sourceId: 'bench', settleMs: 7_200_000, verifyDays: 7, keepDays: 40, daysPerRefresh: 40, now: () => Date.parse('2024-04-02T12:00:00Z') });

/**
 * One measurement in a fresh process: building the month's rollup ("build"); the month's four reports from the
 * rollup as the middleware serves them ("rollup"), through the product's SQL on the call records ("sql"), or the same
 * CSQ and agent figures by fetching every row and adding them up in TypeScript ("rows"). Prints {ms, peakRssMb}.
 */
async function main(): Promise<void> {
  const [path, mode, rollupPath] = process.argv.slice(2) as [string, 'build' | 'rollup' | 'sql' | 'rows', string];
  const source = new SqliteCcdrSource(path);
  const period = periodToUtc('2024-03-01', '2024-03-31', 'Europe/Berlin');
  let peak = process.memoryUsage().rss;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const t0 = performance.now();
  let check = 0;
  const rollup = mode === 'build' || mode === 'rollup' ? rollupOf(source, rollupPath) : null;
  if (mode === 'build') {
    check = await rollup!.refresh();
  } else if (mode === 'sql' || mode === 'rollup') {
    const r = new Reports(rollup ?? source, null);
    const [csq, agents, abandoned, volume] = await Promise.all([r.csqActivity(period), r.agentSummary(period), r.abandoned(period), r.volume(period, 'day')]);
    check = csq.reduce((s, x) => s + x.presented, 0) + agents.length + abandoned.length + volume.length;
  } else {
    const q = await source.query(
      `SELECT csq.csqname, q.disposition, q.queuetime, q.metservicelevel FROM contactqueuedetail q
       JOIN contactcalldetail c ON c.sessionid = q.sessionid AND c.sessionseqnum = q.sessionseqnum AND c.nodeid = q.nodeid AND c.profileid = q.profileid
       JOIN contactservicequeue csq ON csq.recordid = q.targetid WHERE q.targettype = 0 AND c.startdatetime >= ? AND c.startdatetime < ?`,
      [period.utcStart, period.utcEnd],
    );
    const byCsq = new Map<string, { presented: number; handled: number; queue: number }>();
    for (const row of q) {
      const k = String(row.csqname);
      const b = byCsq.get(k) ?? { presented: 0, handled: 0, queue: 0 };
      b.presented += 1;
      if (Number(row.disposition) === 2) b.handled += 1;
      b.queue += Number(row.queuetime);
      byCsq.set(k, b);
    }
    const a = await source.query(
      `SELECT r.resourcename, a.talktime, a.holdtime, a.worktime FROM agentconnectiondetail a
       JOIN contactcalldetail c ON c.sessionid = a.sessionid AND c.sessionseqnum = a.sessionseqnum AND c.nodeid = a.nodeid AND c.profileid = a.profileid
       JOIN resource r ON r.resourceid = a.resourceid AND r.profileid = a.profileid WHERE c.startdatetime >= ? AND c.startdatetime < ?`,
      [period.utcStart, period.utcEnd],
    );
    const byAgent = new Map<string, number>();
    for (const row of a) byAgent.set(String(row.resourcename), (byAgent.get(String(row.resourcename)) ?? 0) + Number(row.talktime));
    check = [...byCsq.values()].reduce((s, x) => s + x.presented, 0) + byAgent.size;
  }
  const ms = performance.now() - t0;
  clearInterval(sample);
  peak = Math.max(peak, process.memoryUsage().rss);
  await rollup?.close();
  await source.close();
  process.stdout.write(JSON.stringify({ ms, peakRssMb: peak / 1024 / 1024, check }));
}

void main();

import moment from 'moment-timezone';
import { abandonedAfter } from '../missed/abandoned-calls';
import type { CcdrSource } from './ccdr-source';
import { periodToUtc } from './period';
import { LiveFacts } from './report-facts';
import { Reports } from './reports';

/**
 * Every statement the middleware sends to the call records, run over a tiny range (yesterday in the portal's time
 * zone): "ok" with its row count, or the database's own error. What `npm run ccdr-check` and `npm run doctor` say.
 */
export interface CheckLine {
  statement: string;
  ok: boolean;
  rows: number;
  detail: string;
}

export async function checkStatements(source: CcdrSource, timeZone: string, now = Date.now()): Promise<CheckLine[]> {
  const day = moment.tz(now, timeZone).subtract(1, 'day').format('YYYY-MM-DD');
  const period = periodToUtc(day, day, timeZone);
  const reports = new Reports(source, null);
  const live = new LiveFacts(source);
  const range = { start: period.utcStart, end: period.utcEnd };
  const statements: Array<[string, () => Promise<unknown[]>]> = [
    ['connection (ping)', async () => (await source.ping(), [])],
    ['report: CSQ activity', () => reports.csqActivity(period)],
    ['report: agent summary', () => reports.agentSummary(period)],
    ['report: abandoned calls', () => reports.abandoned(period)],
    ['report: volume by hour', () => reports.volume(period, 'hour')],
    ['report: volume by day', () => reports.volume(period, 'day')],
    ['missed calls (one page)', () => abandonedAfter(source, { endUtc: period.utcStart, sessionId: '' }, period.utcEnd, 50)],
    ['rollup: CSQs of abandoned calls', () => live.abandonedQueues(range)],
    ['rollup: row counts of a day', async () => [await live.fingerprint(range)]],
    ['rollup: legs per day', async () => [...(await live.legsPerDay(range)).entries()]],
  ];
  const lines: CheckLine[] = [];
  for (const [statement, run] of statements) {
    try {
      const rows = await run();
      lines.push({ statement, ok: true, rows: rows.length, detail: '' });
    } catch (err) {
      lines.push({ statement, ok: false, rows: 0, detail: (err as Error).message.split('\n')[0]!.slice(0, 300) });
    }
  }
  return lines;
}

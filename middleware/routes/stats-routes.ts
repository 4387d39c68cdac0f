import Router from '@koa/router';
import type { Context } from 'koa';
import { HttpError } from '../http-errors';
import { CcdrError } from '../stats/ccdr-source';
import { periodToUtc, PeriodError } from '../stats/period';
import { isReportName, REPORT_NAMES, SERVICE_LEVEL_VARIANT, type Reports } from '../stats/reports';
import { bearerToken, sameSecret } from '../secrets';
import { CSV_MACHINE, withQueryDeadline } from '../stats/table-output';
import type { LiveReader } from '../stats/live-reader';
import { sendLiveJson, sendTable } from './table-download';

/**
 * GET /api/stats/csq | agents | abandoned | volume?by=hour|day — the JSON (or CSV) behind the report, for
 * wallboards too. `from`/`to` are portal-local dates, inclusive; the answer names the zone and the period.
 */
export interface StatsRouteOptions {
  token: string | null;
  timeZone: string;
  queryTimeoutMs: number;
  /** null: statistics are not configured (no CCDR source). */
  reports: Reports | null;
  /** The live queues' reader (null: no call records, or LIVE_INTERVAL_S=0). */
  live: Pick<LiveReader, 'currentJson'> | null;
}

export function statsRoutes(o: StatsRouteOptions): Router {
  const router = new Router();
  const authorize = (ctx: Context) => {
    if (!o.token) throw new HttpError(503, 'the statistics API is off: set STATS_API_TOKEN');
    const given = bearerToken(ctx) ?? (typeof ctx.query.token === 'string' ? ctx.query.token : undefined);
    if (!given) throw new HttpError(401, 'token: missing (Authorization: Bearer <STATS_API_TOKEN>)');
    if (!sameSecret(given, o.token)) throw new HttpError(403, 'token: wrong');
  };
  // The live queues for wallboards: the reader's last snapshot, from memory (never a database read per request).
  router.get('/api/stats/live', (ctx: Context) => {
    authorize(ctx);
    if (!o.live) throw new HttpError(503, 'the live view is off: it needs call records (CCDR_SQLITE_PATH or CCDR_ODBC_CONNECTION) and LIVE_INTERVAL_S above 0');
    sendLiveJson(ctx, o.live);
  });
  router.get('/api/stats/:report', async (ctx: Context) => {
    const report = String(ctx.params.report);
    if (!isReportName(report)) throw new HttpError(404, `no report "${report}" (live, ${REPORT_NAMES.join(', ')})`);
    authorize(ctx);
    if (!o.reports) throw new HttpError(503, 'statistics are not configured: set CCDR_SQLITE_PATH or CCDR_ODBC_CONNECTION');
    const q = (n: string) => (typeof ctx.query[n] === 'string' ? (ctx.query[n] as string) : undefined);
    let period;
    try {
      period = periodToUtc(q('from') ?? '', q('to') ?? '', o.timeZone);
    } catch (err) {
      if (err instanceof PeriodError) throw new HttpError(400, err.message);
      throw err;
    }
    const by = q('by') ?? 'day';
    if (report === 'volume' && by !== 'hour' && by !== 'day') throw new HttpError(400, 'by: expected hour or day');
    const filters = { csq: q('queue'), agent: q('agent') };
    let rows: object[];
    try {
      rows = await withQueryDeadline(o.reports.table(report, period, filters, by as 'hour' | 'day'), o.queryTimeoutMs);
    } catch (err) {
      // The call records are unreachable or slow: say so; lookups are not affected.
      if (err instanceof CcdrError) throw new HttpError(503, `CCDR database: ${err.message}`);
      throw err;
    }
    ctx.set('Cache-Control', 'no-store');
    const format = q('format');
    if (format === 'csv' || format === 'xlsx') return sendTable(ctx, rows, report, period, format, CSV_MACHINE);
    ctx.body = {
      report,
      timeZone: period.timeZone,
      period: { from: period.from, to: period.to, utcStart: period.utcStart, utcEnd: period.utcEnd },
      ...(report === 'csq' ? { serviceLevel: SERVICE_LEVEL_VARIANT } : {}),
      ...(report === 'volume' ? { by } : {}),
      rows,
    };
  });
  return router;
}

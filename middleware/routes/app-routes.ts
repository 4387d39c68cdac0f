import type { DoctorLine } from '../doctor/doctor';
import { renderDoctorPage } from '../doctor/doctor-page';
import type { TraceStep } from '../trace/call-trace';
import { renderTracePage } from '../trace/trace-page';
import Router from '@koa/router';
import type { Context } from 'koa';
import moment from 'moment-timezone';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { authenticateFrame, FrameAuthError, mayViewStats, type Portal } from '../bitrix24/frame-auth';
import type { Logger } from '../log';
import { CcdrError } from '../stats/ccdr-source';
import type { PageSessions } from '../stats/page-session';
import { periodToUtc, type Period } from '../stats/period';
import { renderProblemPage, renderReportPage, type PageLang } from '../stats/report-page';
import { isReportName, type Reports } from '../stats/reports';
import { csvForSpreadsheet, withQueryDeadline } from '../stats/table-output';
import { HttpError } from '../http-errors';
import type { LiveReader } from '../stats/live-reader';
import { renderLiveSection } from '../stats/live-page';
import { sendLiveJson, sendTable } from './table-download';

/**
 * /bitrix/app — the application's page inside Bitrix24: the contact-center statistics. Bitrix24 opens it with a
 * frame POST (verified, see frame-auth.ts); the page's own filter and CSV links carry a signed session.
 */
export interface AppRouteOptions {
  portal: () => Portal | null;
  allowed: { users: number[]; departments: number[] };
  sessions: PageSessions;
  /** What only a portal administrator can fix, shown above the page (bitrix24/admin-notices.ts). */
  notices: (lang: PageLang) => Promise<string[]>;
  reports: Reports | null;
  timeZone: string;
  queryTimeoutMs: number;
  log: Logger;
  /** A call's steps from any of its ids or its number (trace/call-trace.ts). */
  trace: (query: string) => Promise<TraceStep[]>;
  /** The connection checks (doctor/doctor.ts), for a portal administrator. */
  doctor: (lang: PageLang) => Promise<DoctorLine[]>;
  /** The live queues (stats/live-reader.ts); null: none. */
  live: Pick<LiveReader, 'currentJson'> | null;
}

let chartJs: Buffer | null = null;
function chartBundle(): Buffer {
  // Chart.js's own UMD build, served as is: no build step in production.
  chartJs ??= readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'));
  return chartJs;
}

const langOf = (ctx: Context): PageLang => (/^en/i.test(String(ctx.query.LANG ?? ctx.query.lang ?? 'ru')) ? 'en' : 'ru');
/** Two days or less by hour, longer periods by day. */
const volumeBucket = (p: Period): 'hour' | 'day' => (p.days <= 2 ? 'hour' : 'day');
const q = (ctx: Context, n: string) => (typeof ctx.query[n] === 'string' ? (ctx.query[n] as string) : '');

function periodOf(ctx: Context, zone: string): Period {
  const today = moment.tz(zone).format('YYYY-MM-DD');
  const weekAgo = moment.tz(zone).subtract(6, 'days').format('YYYY-MM-DD');
  try {
    return periodToUtc(q(ctx, 'from') || weekAgo, q(ctx, 'to') || today, zone);
  } catch {
    return periodToUtc(weekAgo, today, zone); // a bad date in the form: show the last week rather than nothing
  }
}

export function appRoutes(o: AppRouteOptions): Router {
  const router = new Router();

  // Shown to someone the portal let in (a session or a verified frame): never on a refusal.
  const problem = async (ctx: Context, status: 403 | 503, reason: string, shown = false) => {
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = renderProblemPage(langOf(ctx), status, reason, shown ? await o.notices(langOf(ctx)) : []);
  };

  const render = async (ctx: Context, session: string) => {
    if (!o.reports) {
      // No call records to report on: the page still traces calls.
      ctx.type = 'text/html; charset=utf-8';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = renderTracePage(langOf(ctx), '', null, o.timeZone, session, await o.notices(langOf(ctx)));
      return;
    }
    const reports = o.reports;
    const period = periodOf(ctx, o.timeZone);
    const filters = { queue: q(ctx, 'queue'), agent: q(ctx, 'agent') };
    const f = { csq: filters.queue || undefined, agent: filters.agent || undefined };
    const volumeBy = volumeBucket(period);
    try {
      const [csq, all, agents, everyone, abandoned, volume] = await withQueryDeadline(
        Promise.all([
          reports.csqActivity(period, f),
          reports.csqActivity(period),
          reports.agentSummary(period, f),
          f.agent ? reports.agentSummary(period) : null,
          reports.abandoned(period, f),
          reports.volume(period, volumeBy),
        ]),
        o.queryTimeoutMs,
      );
      const base = new URLSearchParams({ s: session, lang: langOf(ctx), from: period.from, to: period.to, queue: filters.queue, agent: filters.agent });
      ctx.type = 'text/html; charset=utf-8';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = renderReportPage(
        langOf(ctx),
        {
          period,
          filters,
          csq,
          agents,
          abandoned,
          volume,
          volumeBy,
          queues: all.map((r) => r.csq),
          // The agent picker: everyone who took calls in the period, by name (the filter itself is the login).
          agentChoices: (everyone ?? agents).map((r) => ({ login: r.login, name: r.agent })),
          notices: await o.notices(langOf(ctx)),
        },
        {
          self: `/bitrix/app?${base}`,
          csv: (report) => `/bitrix/app/csv/${report}?${base}`,
          xlsx: (report) => `/bitrix/app/xlsx/${report}?${base}`,
          ...(o.sessions.verifyAdmin(session) !== null ? { doctor: `/bitrix/app/doctor?${new URLSearchParams({ s: session, lang: langOf(ctx) })}` } : {}),
        },
        o.live ? renderLiveSection(langOf(ctx), { url: `/bitrix/app/live.json?${new URLSearchParams({ s: session })}`, timeZone: o.timeZone }) : '',
      );
    } catch (err) {
      if (!(err instanceof CcdrError)) throw err;
      o.log.warn({ err }, 'statistics page: CCDR database unavailable');
      await problem(ctx, 503, `CCDR database: ${err.message}`, true);
    }
  };

  router.post('/bitrix/app', async (ctx) => {
    try {
      const user = await authenticateFrame(((ctx.request as { body?: unknown }).body ?? {}) as Record<string, unknown>, o.portal());
      const session = o.sessions.issue(user.id, Date.now(), user.admin);
      if (!mayViewStats(user, o.allowed)) {
        // A portal administrator outside the statistics' allow-list still gets the connection checks.
        if (user.admin) return await doctorPage(ctx, session);
        return problem(ctx, 403, `user #${user.id} may not view the statistics`);
      }
      await render(ctx, session);
    } catch (err) {
      if (!(err instanceof FrameAuthError)) throw err;
      o.log.warn({ reason: err.reason }, 'statistics page refused');
      await problem(ctx, err.reason === 'unreachable' ? 503 : 403, err.message);
    }
  });

  router.get('/bitrix/app', async (ctx) => {
    const user = o.sessions.verify(q(ctx, 's'));
    if (user === null) return problem(ctx, 403, 'the page session expired or is not valid: open the application again from Bitrix24');
    await render(ctx, q(ctx, 's'));
  });

  const doctorPage = async (ctx: Context, session: string) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = renderDoctorPage(langOf(ctx), await o.doctor(langOf(ctx)), session);
  };

  // The connection checks, for a portal administrator's session only (doctor/doctor-page.ts).
  router.get('/bitrix/app/doctor', async (ctx) => {
    const session = q(ctx, 's');
    if (o.sessions.verifyAdmin(session) === null) return problem(ctx, 403, 'the connection checks are for portal administrators: open the application from Bitrix24 as one');
    await doctorPage(ctx, session);
  });

  // A call's way (trace/trace-page.ts), for whoever may see the statistics: where a call went and where it stopped.
  router.get('/bitrix/app/trace', async (ctx) => {
    const session = q(ctx, 's');
    if (o.sessions.verify(session) === null) return problem(ctx, 403, 'the page session expired or is not valid: open the application again from Bitrix24');
    const query = q(ctx, 'q').trim().slice(0, 100);
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = renderTracePage(langOf(ctx), query, query ? await o.trace(query) : null, o.timeZone, session);
  });

  // The live section's data: the reader's last snapshot, from memory, for whoever may see the statistics.
  router.get('/bitrix/app/live.json', (ctx) => {
    if (o.sessions.verify(q(ctx, 's')) === null) throw new HttpError(403, 'the page session expired or is not valid: open the application again from Bitrix24');
    if (!o.live) throw new HttpError(503, 'the live view is off');
    sendLiveJson(ctx, o.live);
  });

  // A report's table as a file: CSV in the reader's spreadsheet dialect, or an Excel workbook with typed cells.
  const download = (format: 'csv' | 'xlsx') => async (ctx: Context) => {
    if (o.sessions.verify(q(ctx, 's')) === null) return problem(ctx, 403, 'the page session expired or is not valid');
    if (!o.reports) return problem(ctx, 503, 'statistics are not configured');
    const period = periodOf(ctx, o.timeZone);
    const f = { csq: q(ctx, 'queue') || undefined, agent: q(ctx, 'agent') || undefined };
    const report = String(ctx.params.report);
    if (!isReportName(report)) return;
    try {
      const rows = await withQueryDeadline(o.reports.table(report, period, f, volumeBucket(period)), o.queryTimeoutMs);
      await sendTable(ctx, rows, report, period, format, csvForSpreadsheet(langOf(ctx)));
    } catch (err) {
      if (!(err instanceof CcdrError)) throw err;
      await problem(ctx, 503, `CCDR database: ${err.message}`);
    }
  };
  router.get('/bitrix/app/csv/:report', download('csv'));
  router.get('/bitrix/app/xlsx/:report', download('xlsx'));

  router.get('/bitrix/assets/chart.js', (ctx) => {
    ctx.type = 'application/javascript';
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = chartBundle();
  });
  return router;
}

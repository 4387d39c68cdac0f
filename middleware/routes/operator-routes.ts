import Router from '@koa/router';
import type { Context } from 'koa';
import { HttpError } from '../http-errors';
import type { Logger } from '../log';
import type { CallTrace } from '../trace/call-trace';
import { summarize, type TraceLang } from '../trace/timeline';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * What an operator asks a running node (a bearer token of ours: UCCX_LOOKUP_TOKEN or STATS_API_TOKEN):
 * GET /api/trace?q=<number|id> — a call's steps as JSON, as `trace` prints them;
 * GET|PUT /api/log-level — the log level now, changed without a restart (PUT {"level":"debug"}; SIGUSR2 does the
 * same from the shell: it switches between the configured level and debug).
 */
export function operatorRoutes(o: { trace: CallTrace; log: Logger; configuredLevel: string; isOperator: (ctx: Context) => boolean; lang: TraceLang }): Router {
  const router = new Router();
  const operator = (ctx: Context, what: string) => {
    if (!o.isOperator(ctx)) throw new HttpError(401, `${what}: an operator token is required (UCCX_LOOKUP_TOKEN or STATS_API_TOKEN as Bearer)`);
  };
  router.get('/api/trace', async (ctx) => {
    operator(ctx, 'trace');
    const query = typeof ctx.query.q === 'string' ? ctx.query.q.trim().slice(0, 100) : '';
    if (!query) throw new HttpError(400, 'trace: "q" (a number, UCCX call id, Finesse dialog id or Bitrix24 CALL_ID) is missing');
    const steps = await o.trace.find(query);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { query, summary: summarize(steps, ctx.query.lang === 'ru' || ctx.query.lang === 'en' ? ctx.query.lang : o.lang), steps };
  });
  router.get('/api/log-level', (ctx) => {
    operator(ctx, 'log level');
    ctx.body = { level: o.log.level, configured: o.configuredLevel };
  });
  router.put('/api/log-level', (ctx) => {
    operator(ctx, 'log level');
    const level = (ctx.request as { body?: { level?: unknown } }).body?.level;
    if (typeof level !== 'string' || !(LOG_LEVELS as readonly string[]).includes(level)) throw new HttpError(400, `log level: "level" must be one of ${LOG_LEVELS.join(', ')}`);
    const before = o.log.level;
    o.log.level = level;
    o.log.warn({ from: before, to: level }, 'log level changed by an operator');
    ctx.body = { level: o.log.level, configured: o.configuredLevel };
  });
  return router;
}

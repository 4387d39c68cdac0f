import Router from '@koa/router';
import type { Context } from 'koa';
import { HttpError } from '../http-errors';
import type { CallTrace } from '../trace/call-trace';
import { summarize, type TraceLang } from '../trace/timeline';

/** GET /api/trace?q=<number|id>: a call's steps as JSON, for an operator (a bearer token of ours), as `trace` prints them. */
export function traceRoutes(trace: CallTrace, isOperator: (ctx: Context) => boolean, lang: TraceLang): Router {
  const router = new Router();
  router.get('/api/trace', async (ctx) => {
    if (!isOperator(ctx)) throw new HttpError(401, 'trace: an operator token is required (UCCX_LOOKUP_TOKEN or STATS_API_TOKEN as Bearer)');
    const query = typeof ctx.query.q === 'string' ? ctx.query.q.trim().slice(0, 100) : '';
    if (!query) throw new HttpError(400, 'trace: "q" (a number, UCCX call id, Finesse dialog id or Bitrix24 CALL_ID) is missing');
    const steps = await trace.find(query);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { query, summary: summarize(steps, ctx.query.lang === 'ru' || ctx.query.lang === 'en' ? ctx.query.lang : lang), steps };
  });
  return router;
}

import { buildInfo } from '../build-info';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Metrics } from '../metrics';

export interface Check {
  ok: boolean;
  [detail: string]: unknown;
}
export type Checks = Record<string, () => Promise<Check> | Check>;

/** How long one evaluation of the checks answers every /readyz caller: a flood of calls makes one probe. */
const READY_REUSE_MS = 2000;

/**
 * /healthz: the process is up. /readyz: ready or not for anyone (a load balancer), each dependency with the reason
 * of any failure only for an operator (`isOperator`: a caller with one of our bearer tokens); all callers share one
 * evaluation at a time, so /readyz cannot be made to hammer Bitrix24 or to flap. /readyz/node: what a load balancer in
 * front of two nodes asks — can this node answer lookups? Neither Bitrix24 nor the shared store being down is a
 * reason to take a node out: the other node would be as blind, and lookups still answer from the index or fail open
 * (an operator still sees the store's state in its body). /metrics: Prometheus.
 */
export function healthRoutes(checks: Checks, metrics: Metrics, isOperator: (ctx: Context) => boolean, nodeCheck: () => Promise<Check> = async () => ({ ok: true })): Router {
  const router = new Router();
  let last: { at: number; result: Promise<{ ready: boolean; checks: Record<string, Check> }> } | null = null;
  const evaluate = async () => {
    const results: Record<string, Check> = {};
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          results[name] = await check();
        } catch (err) {
          results[name] = { ok: false, reason: (err as Error).message };
        }
      }),
    );
    return { ready: Object.values(results).every((r) => r.ok), checks: results };
  };
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ok: true };
  });
  router.get('/readyz', async (ctx) => {
    if (!last || Date.now() - last.at > READY_REUSE_MS) last = { at: Date.now(), result: evaluate() };
    const { ready, checks: results } = await last.result;
    ctx.status = ready ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = isOperator(ctx) ? { ready, version: buildInfo(), checks: results } : { ready };
  });
  router.get('/readyz/node', async (ctx) => {
    let check: Check;
    try {
      check = await nodeCheck();
    } catch (err) {
      check = { ok: false, reason: (err as Error).message };
    }
    ctx.status = check.ok ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = isOperator(ctx) ? check : { ok: check.ok };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}

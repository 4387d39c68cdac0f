import Router from '@koa/router';
import type { Metrics } from '../metrics';

export interface Check {
  ok: boolean;
  [detail: string]: unknown;
}
export type Checks = Record<string, () => Promise<Check> | Check>;

/** /healthz: the process is up. /readyz: each dependency, with the reason of any failure. /metrics: Prometheus. */
export function healthRoutes(checks: Checks, metrics: Metrics): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ok: true };
  });
  router.get('/readyz', async (ctx) => {
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
    const ready = Object.values(results).every((r) => r.ok);
    ctx.status = ready ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ready, checks: results };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}

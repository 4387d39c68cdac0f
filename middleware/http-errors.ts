import type { Context, Next } from 'koa';

/** A client mistake: answered with its status and a one-line reason, never a 5xx. */
export class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The one place errors become answers: 4xx with the reason, 5xx with a generic line (details go to the log). */
export function errorAnswers(log: { error: (o: object, m: string) => void }) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err) {
      const e = err as Error & { status?: number; expose?: boolean };
      const status = e instanceof BadRequest ? e.status : typeof e.status === 'number' && e.status < 500 ? e.status : 500;
      ctx.status = status;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.set('Cache-Control', 'no-store');
      if (status >= 500) {
        log.error({ err: e.message, path: ctx.path }, 'request failed');
        ctx.body = 'internal error\n';
      } else {
        ctx.body = `${String(e.message || 'bad request').split('\n')[0]}\n`;
      }
    }
  };
}

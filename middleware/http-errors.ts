import type { Context, Next } from 'koa';
import { isUnavailable } from './store';
import { NamedError } from '../protocol/named-error';

/** An answer with its status and a one-line reason: a client mistake (4xx), or a dependency we name (503). */
export class HttpError extends NamedError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The one place errors become answers: HttpError with its reason, anything unexpected as a generic 500 (details go to the log). */
export function errorAnswers(log: { error: (o: object, m: string) => void }) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (caught) {
      // The store locked by another process, or PostgreSQL out of reach: the request may simply be made again (the
      // gadget's queue does), and nothing was taken that could be lost.
      const err = isUnavailable(caught) ? new HttpError(503, 'the store is unavailable for a moment; try again') : caught;
      const e = err as Error & { status?: number; expose?: boolean };
      const status = e instanceof HttpError ? e.status : typeof e.status === 'number' && e.status < 500 ? e.status : 500;
      ctx.status = status;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.set('Cache-Control', 'no-store');
      if (!(e instanceof HttpError) && status >= 500) {
        log.error({ err: e, path: ctx.path }, 'request failed');
        ctx.body = 'internal error\n';
      } else {
        ctx.body = `${String(e.message || 'bad request').split('\n')[0]}\n`;
      }
    }
  };
}

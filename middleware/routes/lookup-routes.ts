import { countRestCalls } from '../bitrix24/rest-usage';
import Router from '@koa/router';
import type { Context } from 'koa';
import { HttpError } from '../http-errors';
import { crmReference, renderJson, renderXml } from '../lookup/lookup-answer';
import type { StepInput } from '../trace/call-trace';
import type { LookupService } from '../lookup/lookup-service';
import { normalisePhone, type PhoneRules } from '../lookup/phone-number';
import { bearerToken, sameSecret } from '../secrets';
import { LOOKUP_JSON_PATH } from '../../protocol/agent-api';

export interface LookupRouteOptions {
  /** UCCX_LOOKUP_TOKEN: the UCCX script's own credential, for /uccx/lookup only. */
  token: string | null;
  allowedIps: string[];
  rules: PhoneRules;
  /** Whether a bearer token is a live agent session's (/api/lookup answers signed-in agents only). */
  isAgentSession: (token: string) => boolean;
  /** Each lookup as a step of its call's trace. */
  trace?: (step: StepInput) => void;
}

function param(ctx: Context, name: string): string | undefined {
  const body = (ctx.request as { body?: unknown }).body;
  const fromBody = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  const v = fromBody ?? ctx.query[name];
  if (Array.isArray(v)) throw new HttpError(400, `${name}: given more than once`);
  return typeof v === 'string' ? v : undefined;
}

/** /api/lookup: the gadget's own agent session (docs/security.md): no shared secret sits in desktop layouts. */
function checkAgent(ctx: Context, opts: LookupRouteOptions): void {
  const given = bearerToken(ctx);
  if (!given || !opts.isAgentSession(given)) throw new HttpError(401, "lookup: an agent session's token is required (POST /api/agent/session)");
}

function checkAccess(ctx: Context, opts: LookupRouteOptions): void {
  if (opts.allowedIps.length > 0 && !opts.allowedIps.includes(ctx.ip.replace(/^::ffff:/, ''))) {
    throw new HttpError(403, `client ${ctx.ip} is not in UCCX_ALLOWED_IPS`);
  }
  if (opts.token === null) return;
  const given = param(ctx, 'token') ?? bearerToken(ctx);
  if (!given) throw new HttpError(401, 'token: missing (UCCX_LOOKUP_TOKEN is set)');
  if (!sameSecret(given, opts.token)) throw new HttpError(403, 'token: wrong');
}

const CALL_ID = /^[\w.:\-]{1,64}$/;

/** GET/POST /uccx/lookup (XML for the UCCX script) and GET /api/lookup (its JSON twin). */
export function lookupRoutes(service: LookupService, opts: LookupRouteOptions): Router {
  const router = new Router();

  const run = async (ctx: Context, phoneParam: 'ani' | 'phone') => {
    const started = performance.now();
    if (phoneParam === 'ani') checkAccess(ctx, opts);
    else checkAgent(ctx, opts);
    const raw = param(ctx, phoneParam);
    if (raw === undefined) throw new HttpError(400, `${phoneParam}: missing`);
    const parsed = normalisePhone(raw, opts.rules);
    if (!parsed.ok) throw new HttpError(400, parsed.reason.replace(/^ani/, phoneParam));
    const callId = param(ctx, 'callId') ?? null;
    if (callId !== null && !CALL_ID.test(callId)) throw new HttpError(400, 'callId: expected 1-64 letters, digits or ._:-');
    ctx.set('Cache-Control', 'no-store');
    const { result: answer, calls } = await countRestCalls(() => service.lookup(parsed.phone, callId));
    const ms = performance.now() - started;
    // Server time of the lookup, for monitoring from the client side (and the benchmarks).
    ctx.set('Server-Timing', `lookup;dur=${ms.toFixed(3)}`);
    opts.trace?.({
      kind: 'lookup',
      outcome: answer.status,
      number: parsed.phone.e164,
      callId,
      data: {
        from: phoneParam === 'ani' ? 'uccx' : 'gadget',
        route: answer.route,
        extension: answer.extension || undefined,
        record: crmReference(answer) || undefined,
        reason: answer.reason || undefined,
        ms: Math.round(ms),
        restCalls: calls(),
      },
    });
    return answer;
  };

  const xml = async (ctx: Context) => {
    const answer = await run(ctx, 'ani');
    ctx.type = 'text/xml; charset=utf-8';
    ctx.body = renderXml(answer);
  };
  router.get('/uccx/lookup', xml);
  router.post('/uccx/lookup', xml);
  router.get(LOOKUP_JSON_PATH, async (ctx) => {
    const answer = await run(ctx, 'phone');
    ctx.body = renderJson(answer);
  });
  return router;
}

import Router from '@koa/router';
import type { Installation } from '../bitrix24/credentials';
import type { ClickToDial, ExternalCallStart } from '../calls/click-to-dial';
import { HttpError } from '../http-errors';
import type { Logger } from '../log';
import { sameSecret } from '../secrets';

/**
 * POST /bitrix/events — Bitrix24's event deliveries (reference bitrix24.md §1.4, §4.4): form-encoded `data[...]`,
 * `auth[...]`. A delivery whose application_token or member_id is not the install's is refused (401); a good one
 * is answered 200 at once (Bitrix24 does not retry and throttles slow handlers) and handled after.
 */
export interface EventRouteOptions {
  installation: () => Installation | null;
  clicks: ClickToDial;
  uninstall: () => void;
  log: Logger;
  /** Keeps the handling that goes on after the answer in view (shutdown and tests wait for it). */
  track: (work: Promise<unknown>) => void;
}

type Form = Record<string, unknown>;
const obj = (v: unknown): Form => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Form) : {});
const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');

export function parseCallStart(data: Form): ExternalCallStart {
  const callId = text(data.CALL_ID);
  const userId = Number(text(data.USER_ID));
  if (!/^[\w.-]{1,100}$/.test(callId)) throw new HttpError(400, 'ONEXTERNALCALLSTART: data[CALL_ID] is missing or malformed');
  if (!Number.isInteger(userId) || userId <= 0) throw new HttpError(400, 'ONEXTERNALCALLSTART: data[USER_ID] is missing');
  const phone = text(data.PHONE_NUMBER);
  const phoneInternational = text(data.PHONE_NUMBER_INTERNATIONAL);
  if (!phone && !phoneInternational) throw new HttpError(400, 'ONEXTERNALCALLSTART: data[PHONE_NUMBER] is missing');
  return { callId, userId, phone, phoneInternational };
}

export function eventRoutes(o: EventRouteOptions): Router {
  const router = new Router();
  router.post('/bitrix/events', (ctx) => {
    const form = obj((ctx.request as { body?: unknown }).body);
    const auth = obj(form.auth);
    const event = text(form.event).toUpperCase();
    const inst = o.installation();
    const token = text(auth.application_token);
    const member = text(auth.member_id);
    if (!inst || !token || !sameSecret(token, inst.applicationToken) || !sameSecret(member, inst.memberId)) {
      o.log.warn({ event, domain: text(auth.domain), ip: ctx.ip }, 'Bitrix24 event refused: application_token or member_id does not match the install');
      throw new HttpError(401, 'event: application_token or member_id does not match the installed application');
    }
    const data = obj(form.data);
    const later = (what: string, p: Promise<unknown>) => o.track(p.catch((err: Error) => o.log.error({ event, err: err.message }, `${what} failed`)));
    switch (event) {
      case 'ONEXTERNALCALLSTART':
        later('click-to-dial', o.clicks.handle(parseCallStart(data)));
        break;
      case 'ONEXTERNALCALLBACKSTART':
        later('callback', o.clicks.callback({ phone: text(data.PHONE_NUMBER), deliveryId: `${text(form.event_handler_id)}-${text(form.ts)}-${text(data.PHONE_NUMBER)}` }));
        break;
      case 'ONAPPUNINSTALL':
        o.uninstall();
        o.log.warn({ domain: inst.domain }, 'Bitrix24 application uninstalled: tokens forgotten');
        break;
      default:
        o.log.info({ event }, 'Bitrix24 event ignored');
    }
    ctx.body = { ok: true };
  });
  return router;
}

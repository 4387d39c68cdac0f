import Router from '@koa/router';
import type { Installation } from '../bitrix24/credentials';
import type { ClickToDial, ExternalCallStart } from '../calls/click-to-dial';
import { HttpError } from '../http-errors';
import type { Logger } from '../log';
import { sameSecret } from '../secrets';

/**
 * POST /bitrix/events — Bitrix24's event deliveries (reference bitrix24.md §1.4, §4.4): form-encoded `data[...]`,
 * `auth[...]`. The application_token and member_id sit in every user's application frame, so they only sort out
 * noise: a delivery is acted on when the portal confirms it — the click's `auth[access_token]` is, by the portal's
 * own word (user.current), the token of the user in `data[USER_ID]`; an uninstall is real when the portal no longer
 * takes our own token. Anything else is refused (401) and logged once. A good delivery is answered 200 at once
 * (Bitrix24 does not retry and throttles slow handlers) and handled after.
 */
export interface EventRouteOptions {
  installation: () => Installation | null;
  clicks: ClickToDial;
  uninstall: () => Promise<void>;
  log: Logger;
  /** The user whose token this is, as the configured portal says (null: the portal does not know it). */
  tokenUser: (accessToken: string) => Promise<{ userId: number } | null>;
  /** Whether the portal still takes our application's own token (it does not after a real uninstall). */
  stillInstalled: () => Promise<boolean>;
  /** Keeps the handling that goes on after the answer in view (shutdown and tests wait for it). */
  track: (work: Promise<unknown>) => void;
  /** A CRM record added, changed or deleted (the local phone index reads it again; null: no index). */
  crmChanged?: ((type: 'CONTACT' | 'COMPANY' | 'LEAD', id: number, deleted: boolean) => Promise<void>) | null;
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
  router.post('/bitrix/events', async (ctx) => {
    const form = obj((ctx.request as { body?: unknown }).body);
    const auth = obj(form.auth);
    const event = text(form.event).toUpperCase().slice(0, 60);
    const inst = o.installation();
    const token = text(auth.application_token);
    const member = text(auth.member_id);
    const refuse = (why: string): never => {
      o.log.warn({ event, why, domain: text(auth.domain).slice(0, 80), ip: ctx.ip }, 'Bitrix24 event refused');
      throw new HttpError(401, 'event: not confirmed as coming from the installed application on the configured portal');
    };
    if (!inst || !token || !sameSecret(token, inst.applicationToken) || !sameSecret(member, inst.memberId)) return refuse('application_token or member_id does not match the install');
    const data = obj(form.data);
    if (event === 'ONEXTERNALCALLSTART' || event === 'ONEXTERNALCALLBACKSTART') {
      const who = await o.tokenUser(text(auth.access_token));
      if (!who) refuse('the portal does not know its access token');
      if (event === 'ONEXTERNALCALLSTART' && String(who!.userId) !== text(data.USER_ID)) refuse("its access token is not the clicking user's");
    } else if (event === 'ONAPPUNINSTALL' && (await o.stillInstalled())) refuse('the portal still takes our token: not uninstalled');
    const later = (what: string, p: Promise<unknown>) => o.track(p.catch((err: Error) => o.log.error({ event, err: err.message }, `${what} failed`)));
    switch (event) {
      case 'ONEXTERNALCALLSTART':
        later('click-to-dial', o.clicks.handle(parseCallStart(data)));
        break;
      case 'ONEXTERNALCALLBACKSTART':
        later('callback', o.clicks.callback({ phone: text(data.PHONE_NUMBER), deliveryId: `${text(form.event_handler_id)}-${text(form.ts)}-${text(data.PHONE_NUMBER)}` }));
        break;
      case 'ONAPPUNINSTALL':
        await o.uninstall();
        o.log.warn({ domain: inst.domain }, 'Bitrix24 application uninstalled: tokens forgotten');
        break;
      default: {
        // ONCRM{CONTACT,COMPANY,LEAD}{ADD,UPDATE,DELETE}: data[FIELDS][ID]. Acting on it only reads the record again
        // from Bitrix24 with our own token, so the install's application_token is check enough.
        const crm = /^ONCRM(CONTACT|COMPANY|LEAD)(ADD|UPDATE|DELETE)$/.exec(event);
        const id = Number(text(obj(data.FIELDS).ID));
        if (crm && o.crmChanged && Number.isInteger(id) && id > 0) {
          later('phone index update', o.crmChanged(crm[1] as 'CONTACT', id, crm[2] === 'DELETE'));
          break;
        }
        o.log.info({ event }, 'Bitrix24 event ignored');
      }
    }
    ctx.body = { ok: true };
  });
  return router;
}

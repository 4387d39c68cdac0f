import Router from '@koa/router';
import type { Installation } from '../bitrix24/credentials';
import type { ClickToDial, ExternalCallStart } from '../calls/click-to-dial';
import type { Proof } from '../bitrix24/portal-check';
import { HttpError } from '../http-errors';
import type { Logger } from '../log';
import { sameSecret } from '../secrets';

/**
 * POST /bitrix/events — Bitrix24's event deliveries (b24restdocs: api-reference/events/index.md, api-reference/telephony/events/on-external-call-start.md): form-encoded `data[...]`,
 * `auth[...]`. The application_token and member_id sit in every user's application frame, so they only sort out
 * noise: a delivery is acted on when the portal confirms it — the click's `auth[access_token]` is, by the portal's
 * own word (user.current), the token of the user in `data[USER_ID]`; an uninstall is real when the portal no longer
 * takes our own token. What the portal refuses is refused (401) and logged once. A click the portal cannot vouch
 * for *now* (busy, failing) is neither dialled blind nor dropped: it is answered 200 and held while the portal is
 * asked again, within `proofWindowMs`. A good delivery is answered 200 at once (Bitrix24 does not retry and
 * throttles slow handlers) and handled after.
 */
export interface EventRouteOptions {
  installation: () => Installation | null;
  clicks: ClickToDial;
  uninstall: () => Promise<void>;
  log: Logger;
  /** Whose token this is, as the configured portal says now (no waiting): a user, its refusal, or "cannot tell now". */
  tokenUser: (accessToken: string, expiresAt: number | undefined) => Promise<Proof>;
  /** The same question asked again until `deadline` (ms) while the portal cannot tell: busy, failing, out of reach. */
  proveBy: (accessToken: string, expiresAt: number | undefined, deadline: number) => Promise<Proof>;
  /** How long a click the portal cannot vouch for yet is held and asked about (its useful life). */
  proofWindowMs: number;
  /** Whether the portal still takes our application's own token (it does not after a real uninstall). */
  stillInstalled: () => Promise<boolean>;
  /** Keeps the handling that goes on after the answer in view (shutdown and tests wait for it). */
  track: (work: Promise<unknown>) => void;
  /**
   * ONAPPINSTALL: the application token it carries is taken when the portal confirms the delivery's access token is
   * an administrator's of this application (the install through the frame brings none). Returns whether it was.
   */
  learnApplicationToken: (applicationToken: string, accessToken: string) => Promise<boolean>;
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
  let noTokenSaid = false;
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
    if (event === 'ONAPPINSTALL' && inst && token && sameSecret(member, inst.memberId) && !sameSecret(token, inst.applicationToken)) {
      // The documented first source of the application token (b24restdocs api-reference/events/safe-event-handlers.md):
      // taken only with the portal's word that the delivery's token is an administrator's of this application.
      if (!(await o.learnApplicationToken(token, text(auth.access_token)))) return refuse('ONAPPINSTALL whose access token the portal does not confirm as an administrator of this application');
      o.log.info({ domain: inst.domain }, 'Bitrix24 application token taken from ONAPPINSTALL: events are accepted from now on');
      ctx.body = { ok: true };
      return;
    }
    if (!inst || !token || !sameSecret(token, inst.applicationToken) || !sameSecret(member, inst.memberId)) return refuse('application_token or member_id does not match the install');
    const data = obj(form.data);
    /** Set while the portal could not tell whose the click's token is: the click is held and asked about again. */
    let unproven: (() => Promise<Proof>) | null = null;
    if (event === 'ONEXTERNALCALLSTART' || event === 'ONEXTERNALCALLBACKSTART') {
      const accessToken = text(auth.access_token);
      const expires = Number(text(auth.expires)) * 1000; // a Unix time in deliveries since late 2024
      const expiresAt = expires > 0 ? expires : undefined;
      const received = Date.now();
      if (!accessToken) {
        // Older portals deliver events without the acting user's token: nothing can prove such a click, so it is never
        // dialled. Said once (not per click) with what to do.
        if (!noTokenSaid)
          o.log.error(
            { event },
            'Bitrix24 delivers this event without auth[access_token]: clicks cannot be confirmed and are refused. Update the portal (on-premise: the rest module) and reinstall the application',
          );
        noTokenSaid = true;
        refuse('no auth[access_token] in the delivery (an older portal)');
      }
      const who = await o.tokenUser(accessToken, expiresAt);
      if (who.kind === 'refused') refuse(`the portal refused its access token (${who.why})`);
      if (who.kind === 'user' && event === 'ONEXTERNALCALLSTART' && String(who.userId) !== text(data.USER_ID)) refuse("its access token is not the clicking user's");
      if (who.kind === 'unknown') {
        o.log.warn({ event, why: who.why }, 'Bitrix24 event held: the portal cannot confirm it now; asked again');
        unproven = () => o.proveBy(accessToken, expiresAt, received + o.proofWindowMs);
      }
    } else if (event === 'ONAPPUNINSTALL' && (await o.stillInstalled())) refuse('the portal still takes our token: not uninstalled');
    const later = (what: string, p: Promise<unknown>) => o.track(p.catch((err: Error) => o.log.error({ event, err }, `${what} failed`)));
    switch (event) {
      case 'ONEXTERNALCALLSTART': {
        const click = parseCallStart(data);
        later('click-to-dial', unproven ? o.clicks.handleUnproven(click, unproven) : o.clicks.handle(click));
        break;
      }
      case 'ONEXTERNALCALLBACKSTART': {
        const request = { phone: text(data.PHONE_NUMBER), deliveryId: `${text(form.event_handler_id)}-${text(form.ts)}-${text(data.PHONE_NUMBER)}` };
        const proved = unproven ? unproven() : Promise.resolve<Proof>({ kind: 'user', userId: 0 });
        later(
          'callback',
          proved.then((p) => {
            if (p.kind === 'user') return o.clicks.callback(request);
            // No call exists in Bitrix24 yet: the request stays in the CRM form's record for a person to call back.
            o.log.error({ event, why: p.why }, 'callback request not dialled: the portal never confirmed it');
            return null;
          }),
        );
        break;
      }
      case 'ONAPPINSTALL':
        break; // the token we know already: nothing to learn
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

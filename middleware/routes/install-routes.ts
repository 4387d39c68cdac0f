import Router from '@koa/router';
import type { Context } from 'koa';
import type { AppCredentials, Installation } from '../bitrix24/credentials';
import { HttpError } from '../http-errors';
import type { Logger } from '../log';
import type { PortalCheck } from '../bitrix24/portal-check';

type Form = Record<string, unknown>;
const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');

const PAGE = {
  ru: {
    title: 'Приложение установлено',
    body: 'Коннектор Finesse ↔ Bitrix24 подключён к порталу.',
    done: 'Линия «{line}» добавлена и выбрана номером по умолчанию для исходящих звонков; события привязаны. Проверка всех подключений: finesse-bitrix24 doctor.',
    problems: 'Не удалось настроить (клик по номеру не заработает, пока это не исправлено):',
  },
  en: {
    title: 'Application installed',
    body: 'The Finesse ↔ Bitrix24 connector is connected to the portal.',
    done: 'The line "{line}" is added and chosen as the default number for outgoing calls; the events are bound. To check every connection: finesse-bitrix24 doctor.',
    problems: 'Could not set up (click-to-dial will not work until this is fixed):',
  },
};
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** What the install sets up in the portal (event bindings, our line); returns what failed, in words. */
export type AfterInstall = (publicUrl: string) => Promise<string[]>;

/**
 * Reads the install callback in either form Bitrix24 sends: `auth[...]` fields (ONAPPINSTALL, script-only
 * applications) or the application frame's POST (AUTH_ID, REFRESH_ID, member_id; DOMAIN in the query).
 */
export function readInstallation(form: Form, query: Form): Omit<Installation, 'installedAt'> {
  const auth = (typeof form.auth === 'object' && form.auth !== null ? form.auth : {}) as Form;
  const domain = text(auth.domain) || text(query.DOMAIN);
  const protocol = text(query.PROTOCOL) === '0' ? 'http' : 'https';
  const inst = {
    memberId: text(auth.member_id) || text(form.member_id),
    domain,
    clientEndpoint: text(auth.client_endpoint) || (domain ? `${protocol}://${domain}/rest/` : ''),
    serverEndpoint: '',
    accessToken: text(auth.access_token) || text(form.AUTH_ID),
    refreshToken: text(auth.refresh_token) || text(form.REFRESH_ID),
    applicationToken: text(auth.application_token) || text(form.APPLICATION_TOKEN),
    expiresAt: Date.now() + 1000 * (Number(text(auth.expires_in) || text(form.AUTH_EXPIRES)) || 3600),
  };
  // No application token is fine: an install through the application's frame has none; ONAPPINSTALL brings it.
  const missing = (['memberId', 'domain', 'accessToken', 'refreshToken'] as const).filter((k) => !inst[k]);
  if (missing.length) throw new HttpError(400, `install: missing ${missing.join(', ')} in the Bitrix24 callback`);
  try {
    new URL(inst.clientEndpoint);
  } catch {
    throw new HttpError(400, 'install: client_endpoint is not a URL');
  }
  return inst;
}

/**
 * POST /bitrix/install: the application's install handler. Only the configured portal (B24_PORTAL_URL) installs,
 * and only with a token that portal itself confirms is this application's and an administrator's: Bitrix24 puts
 * the member id and the application token into every user's frame, so nothing else in the request proves anything.
 * The REST and OAuth endpoints are the configured ones, never the request's; the event handler's address is
 * PUBLIC_URL or our own, never the request's Host. Every refusal answers the same, so the handler reveals nothing.
 */
export function installRoutes(
  creds: AppCredentials,
  app: { portalUrl: string; clientId: string },
  check: PortalCheck,
  log: Logger,
  setup: { publicUrl: () => string; line: string; afterInstall: AfterInstall },
): Router {
  const router = new Router();
  router.post('/bitrix/install', async (ctx: Context) => {
    const inst = readInstallation(((ctx.request as { body?: unknown }).body ?? {}) as Form, ctx.query as Form);
    const refuse = (why: string): never => {
      log.warn({ why, domain: inst.domain.slice(0, 80), ip: ctx.ip }, 'Bitrix24 install refused');
      throw new HttpError(403, "install: refused (the configured portal did not confirm an administrator's token for this application)");
    };
    if (new URL(inst.clientEndpoint).origin !== app.portalUrl) refuse('not the configured portal');
    if (!(await check.adminOfApp(inst.accessToken, app.clientId))) refuse('token not confirmed as an administrator of this application');
    const current = creds.installation();
    if (current && current.memberId !== inst.memberId) refuse('another member id than the installed one');
    // A reinstall through the frame brings no application token: the one we have stays until ONAPPINSTALL names it.
    const applicationToken = inst.applicationToken || current?.applicationToken || '';
    await creds.save({ ...inst, applicationToken, clientEndpoint: `${app.portalUrl}/rest/`, serverEndpoint: '', installedAt: Date.now() });
    log.info({ domain: inst.domain, memberId: inst.memberId, applicationToken: applicationToken ? 'known' : 'awaited from ONAPPINSTALL' }, 'Bitrix24 application installed');
    // Bindings are dropped on every update of the application: set them again on every install.
    const problems = await setup.afterInstall(setup.publicUrl());
    const lang = /^ru/i.test(text(ctx.query.LANG) || 'ru') ? 'ru' : 'en';
    const t = PAGE[lang];
    const trouble = problems.length ? `<p>${t.problems}</p><ul>${problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : '';
    ctx.status = problems.length ? 502 : 200;
    ctx.type = 'text/html; charset=utf-8';
    // An application with an interface (the statistics page lives in Bitrix24) is installed only once its install
    // page calls BX24.installFinish() in the frame (b24restdocs settings/app-installation/installation-finish.md):
    // until then Bitrix24 delivers no event. What could not be set up is listed above and fixed by hand; it does not
    // keep the lookup, the statistics or the call log from working, so the install is finished either way.
    const finish = `<script src="https://api.bitrix24.com/api/v1/"></script><script>if (window.BX24) BX24.init(function () { BX24.installFinish(); });</script>`;
    ctx.body = `<!doctype html><html lang="${lang}"><meta charset="utf-8"><title>${t.title}</title><h1>${t.title}</h1><p>${t.body}</p>${trouble || `<p>${esc(t.done.replace('{line}', setup.line))}</p>`}${finish}</html>`;
  });
  return router;
}

const NOT_READY = {
  ru: {
    title: 'Коннектор ещё не настроен для установки',
    body: 'Bitrix24 вызвал установку раньше, чем ключи приложения внесены в настройки коннектора. Так бывает всегда при первом сохранении приложения.',
    steps:
      'Скопируйте client_id и client_secret из формы приложения в B24_CLIENT_ID и B24_CLIENT_SECRET, адрес портала — в B24_PORTAL_URL, перезапустите службу, затем в Битрикс24 нажмите «Переустановить».',
  },
  en: {
    title: 'The connector is not set up for the install yet',
    body: "Bitrix24 called the install before the application's keys were in the connector's configuration. That always happens on the application's first save.",
    steps:
      "Copy client_id and client_secret from the application's form into B24_CLIENT_ID and B24_CLIENT_SECRET, the portal's address into B24_PORTAL_URL, restart the service, then press Reinstall in Bitrix24.",
  },
};

/** POST /bitrix/install while the middleware is not in application mode: says exactly what is missing (503). */
export function installNotReadyRoutes(): Router {
  const router = new Router();
  router.post('/bitrix/install', (ctx: Context) => {
    const lang = /^ru/i.test(text(ctx.query.LANG) || 'ru') ? 'ru' : 'en';
    const t = NOT_READY[lang];
    ctx.status = 503;
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = `<!doctype html><html lang="${lang}"><meta charset="utf-8"><title>${t.title}</title><h1>${t.title}</h1><p>${t.body}</p><p>${t.steps}</p></html>`;
  });
  return router;
}

import Router from '@koa/router';
import type { Context } from 'koa';
import type { AppCredentials, Installation } from '../bitrix24/credentials';
import { HttpError } from '../http-errors';
import type { Logger } from '../log';

type Form = Record<string, unknown>;
const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');

const PAGE = {
  ru: {
    title: 'Приложение установлено',
    body: 'Коннектор Finesse ↔ Bitrix24 подключён к порталу.',
    next: 'Выберите линию «{line}» номером по умолчанию для исходящих звонков: Телефония → Настройки → Номер по умолчанию.',
    problems: 'Не удалось настроить (клик по номеру не заработает, пока это не исправлено):',
  },
  en: {
    title: 'Application installed',
    body: 'The Finesse ↔ Bitrix24 connector is connected to the portal.',
    next: 'Choose the line "{line}" as the default number for outgoing calls: Telephony → Settings → Default number.',
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
    serverEndpoint: text(auth.server_endpoint) || text(form.SERVER_ENDPOINT) || 'https://oauth.bitrix.info/rest/',
    accessToken: text(auth.access_token) || text(form.AUTH_ID),
    refreshToken: text(auth.refresh_token) || text(form.REFRESH_ID),
    applicationToken: text(auth.application_token) || text(form.APPLICATION_TOKEN),
    expiresAt: Date.now() + 1000 * (Number(text(auth.expires_in) || text(form.AUTH_EXPIRES)) || 3600),
  };
  const missing = (['memberId', 'domain', 'accessToken', 'refreshToken', 'applicationToken'] as const).filter((k) => !inst[k]);
  if (missing.length) throw new HttpError(400, `install: missing ${missing.join(', ')} in the Bitrix24 callback`);
  try {
    new URL(inst.clientEndpoint);
    new URL(inst.serverEndpoint);
  } catch {
    throw new HttpError(400, 'install: client_endpoint or server_endpoint is not a URL');
  }
  return inst;
}

/**
 * POST /bitrix/install: the application's install handler. Trusts only the configured portal (B24_PORTAL_URL), or
 * the first portal that installs us when none is configured; proves the token by calling app.info with it.
 */
export function installRoutes(creds: AppCredentials, portalUrl: string | null, log: Logger, setup: { publicUrl: string | null; line: string; afterInstall: AfterInstall }): Router {
  const router = new Router();
  router.post('/bitrix/install', async (ctx: Context) => {
    const inst = readInstallation(((ctx.request as { body?: unknown }).body ?? {}) as Form, ctx.query as Form);
    if (portalUrl && new URL(inst.clientEndpoint).origin !== new URL(portalUrl).origin) {
      throw new HttpError(403, `install: portal ${inst.domain} is not B24_PORTAL_URL`);
    }
    const current = creds.installation();
    if (current && current.memberId !== inst.memberId) {
      throw new HttpError(409, `install: already installed on portal ${current.domain}; uninstall there first`);
    }
    const res = await fetch(`${inst.clientEndpoint}app.info.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: inst.accessToken }),
      signal: AbortSignal.timeout(5000),
    }).catch((err: Error) => {
      throw new HttpError(502, `install: could not reach ${inst.clientEndpoint}: ${err.message}`);
    });
    if (!res.ok) throw new HttpError(403, `install: the portal refused the install token (HTTP ${res.status})`);
    creds.save({ ...inst, installedAt: Date.now() });
    log.info({ domain: inst.domain, memberId: inst.memberId }, 'Bitrix24 application installed');
    // Bindings are dropped on every update of the application: set them again on every install.
    const problems = await setup.afterInstall(setup.publicUrl ?? `${ctx.protocol}://${ctx.host}`);
    const lang = /^ru/i.test(text(ctx.query.LANG) || 'ru') ? 'ru' : 'en';
    const t = PAGE[lang];
    const trouble = problems.length ? `<p>${t.problems}</p><ul>${problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : '';
    ctx.status = problems.length ? 502 : 200;
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = `<!doctype html><html lang="${lang}"><meta charset="utf-8"><title>${t.title}</title><h1>${t.title}</h1><p>${t.body}</p>${trouble}<p>${esc(t.next.replace('{line}', setup.line))}</p></html>`;
  });
  return router;
}

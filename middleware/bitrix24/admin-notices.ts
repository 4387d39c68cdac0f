import type { Logger } from '../log';
import type { Handler, Outbox } from '../outbox';
import type { Store } from '../store';
import { failureClass } from './failure-class';
import type { Bitrix24Client } from './rest-client';

/**
 * Refusals an administrator of the portal can fix — no retry will: Bitrix24 registers our calls but will not make
 * their leads (LEAD_CREATION_ERROR in telephony.externalCall.register's answer, b24restdocs
 * api-reference/telephony/telephony-external-call-register.md; the real words in
 * conformance/bitrix24/docs/register-lead-creation-error.json), or refuses a method to our credentials (the
 * failure class `access`: ACCESS_DENIED, insufficient_scope, user_access_error, a plan without REST, a manual block).
 *
 * Each is kept in the store (every node sees it), shown on the application's page and in /readyz, counted on
 * /metrics, logged, and told to the administrator who installed the application (im.notify.system.add to the user
 * of our token) at most once a day. The work itself goes on: a refused write keeps being retried at the outbox's
 * longest backoff and goes through once the administrator fixed the cause.
 */
export type NoticeKind = 'lead_creation_disabled' | 'access_denied';

export interface AdminNotice {
  kind: NoticeKind;
  /** The method Bitrix24 refused, and its own words. */
  method: string;
  detail: string;
  firstAt: number;
  lastAt: number;
  /** When the administrator was last told (im.notify), ms. */
  notifiedAt: number;
}

export const NOTIFY_ADMIN = 'admin.notify';
/** At most one notification a day per kind. */
export const NOTIFY_EVERY_MS = 86_400_000;
/** The same notice seen again within this long is not written again (a burst of refused calls is one fact). */
const REWRITE_AFTER_MS = 10_000;
const PREFIX = 'admin.notice.';

type Lang = 'ru' | 'en';
const TEXT: Record<Lang, Record<NoticeKind, string> & { prefix: string }> = {
  ru: {
    prefix: 'Коннектор Finesse ↔ Bitrix24: ',
    lead_creation_disabled:
      'Битрикс24 не создаёт лиды по исходящим звонкам на новые номера («{detail}»). Звонки записываются, лид не появляется. Это исправляет администратор портала: режим CRM с лидами и создание лидов по звонкам в настройках телефонии.',
    access_denied:
      'Битрикс24 отказал коннектору в доступе к {method} («{detail}»). Проверьте права приложения (crm, telephony, user, im), тариф портала и права пользователя, установившего приложение; работа продолжится сама, когда доступ появится.',
  },
  en: {
    prefix: 'Finesse ↔ Bitrix24 connector: ',
    lead_creation_disabled:
      'Bitrix24 does not create leads for outgoing calls to new numbers ("{detail}"). Calls are logged; the lead does not appear. A portal administrator fixes this: a CRM mode with leads, and lead creation for calls in the telephony settings.',
    access_denied:
      'Bitrix24 refused the connector access to {method} ("{detail}"). Check the application\'s scopes (crm, telephony, user, im), the portal\'s plan and the rights of the user who installed it; the work goes on by itself once access is given.',
  },
};

export function noticeText(n: Pick<AdminNotice, 'kind' | 'method' | 'detail'>, lang: Lang): string {
  return TEXT[lang][n.kind].replace('{method}', n.method).replace('{detail}', n.detail.slice(0, 300));
}

export class AdminNotices {
  private readonly seen = new Map<NoticeKind, number>();
  /** This node's view (metrics): the kinds raised and not cleared. */
  readonly open = new Set<NoticeKind>();
  /** The method whose refusal the open access notice is about: its next success clears the notice. */
  private refusedMethod: string | null = null;

  constructor(
    private readonly store: Store,
    private readonly outbox: () => Outbox,
    private readonly opts: { lang: Lang; log: Logger; now?: () => number },
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  async raise(kind: NoticeKind, method: string, detail: string): Promise<void> {
    const t = this.now();
    this.open.add(kind);
    if (kind === 'access_denied') this.refusedMethod = method;
    if (t - (this.seen.get(kind) ?? -Infinity) < REWRITE_AFTER_MS) return;
    this.seen.set(kind, t);
    await this.store.exclusive(PREFIX + kind, async () => {
      const known = await this.store.getKv<AdminNotice>(PREFIX + kind);
      const notice: AdminNotice = { kind, method, detail, firstAt: known?.firstAt ?? t, lastAt: t, notifiedAt: known?.notifiedAt ?? 0 };
      const tell = t - notice.notifiedAt >= NOTIFY_EVERY_MS;
      if (tell) notice.notifiedAt = t;
      await this.store.setKv(PREFIX + kind, notice);
      if (!tell) return;
      this.opts.log.error({ notice: kind, method, detail }, `Bitrix24 refuses what an administrator must allow: ${noticeText(notice, 'en')}`);
      await this.outbox().enqueue(`admin-notify:${kind}:${t}`, NOTIFY_ADMIN, { message: TEXT[this.opts.lang].prefix + noticeText(notice, this.opts.lang) });
    });
  }

  /** The cause is gone (the refused thing worked): the page stops showing it; a new refusal is told again. */
  async clear(kind: NoticeKind): Promise<void> {
    if (!this.open.has(kind) && !this.seen.has(kind)) return;
    this.open.delete(kind);
    this.seen.delete(kind);
    await this.store.deleteKv(PREFIX + kind);
  }

  /** A method answered: if it was the one refused, access was given. */
  succeeded(method: string): void {
    if (method !== this.refusedMethod) return;
    this.refusedMethod = null;
    void this.clear('access_denied').catch((err: Error) => this.opts.log.warn({ err }, 'could not clear the access notice'));
  }

  async list(): Promise<AdminNotice[]> {
    return (await this.store.kvWithPrefix<AdminNotice>(PREFIX)).map((r) => r.value).sort((a, b) => a.firstAt - b.firstAt);
  }
}

/**
 * Tells the administrator who installed the application (the user of our token: user.current). A notification that
 * cannot be sent (im not allowed either) is given up, not retried: the page, the log and /readyz still say it.
 */
export function notifyAdminHandler(deps: { client: Bitrix24Client }): Handler {
  return async ({ payload }) => {
    const { message } = payload as { message: string };
    try {
      const me = await deps.client.call<{ ID?: unknown } | null>('user.current');
      const userId = Number(me?.ID);
      if (!Number.isInteger(userId) || userId <= 0) return { skipped: 'user.current named no user' };
      await deps.client.call('im.notify.system.add', { USER_ID: userId, MESSAGE: message });
      return { notified: userId };
    } catch (err) {
      // An outage or a full bucket passes: tried again. Anything else (im refused as well) will not.
      if (['transient', 'rate', 'blocked_method'].includes(failureClass(err))) throw err;
      return { skipped: `not notified: ${(err as Error).message}` };
    }
  };
}

import type { Portal, PortalEntity } from './portal';
import type { Bitrix24Emulator } from './server';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const STYLE = `<style>body{font:14px system-ui,sans-serif;margin:24px;color:#333}h1{color:#2fc6f6}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}.lab{background:#fff3cd;padding:4px 8px;display:inline-block}</style>`;

function userName(portal: Portal, id: number): string {
  const u = portal.users.get(id);
  return u ? `${u.NAME} ${u.LAST_NAME}` : `#${id}`;
}

/** A phone with Bitrix24's click-to-call: a click fires ONEXTERNALCALLSTART for the user looking at the page. */
function callButton(e: PortalEntity, phone: string, user: number): string {
  return `<form method="post" action="/lab/click" class="call"><input type="hidden" name="user" value="${user}"><input type="hidden" name="type" value="${e.type}"><input type="hidden" name="id" value="${e.ID}"><input type="hidden" name="phone" value="${esc(phone)}"><button type="submit" data-phone="${esc(phone)}" title="Call / Позвонить">☎ ${esc(phone)}</button></form>`;
}

export function renderEntityPage(e: PortalEntity, portal: Portal, user = 5): string {
  const kind = e.type.toLowerCase();
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(e.TITLE || e.NAME)} — ${kind}</title>${STYLE}</head><body>
<p class="lab">Bitrix24 emulator (lab) / Эмулятор Битрикс24 (лаборатория)</p>
<h1 data-entity="${e.type}:${e.ID}">${e.type} ${e.ID}: ${esc(e.TITLE || e.NAME)}</h1>
<table><tr><th>Responsible / Ответственный</th><td>${esc(userName(portal, e.ASSIGNED_BY_ID))}</td></tr>
<tr><th>Phones / Телефоны</th><td>${e.PHONE.map((p) => callButton(e, p.VALUE, user)).join('')}</td></tr>
<tr><th>Source / Источник</th><td>${esc(e.SOURCE_ID)}</td></tr><tr><th>ORIGIN_ID</th><td>${esc(e.ORIGIN_ID)}</td></tr>
<tr><th>Created / Создан</th><td>${esc(e.DATE_CREATE)}</td></tr></table>
<p>Viewing as / Вы вошли как: ${esc(userName(portal, user))} · <a href="/lab/calls?user=${user}">call log / журнал звонков</a> · <a href="/">← portal / портал</a></p></body></html>`;
}

const TYPE = ['', 'outgoing / исходящий', 'incoming / входящий', 'incoming, redirected / входящий с переадресацией', 'callback / обратный звонок', 'informational / информационный'];

/** The telephony statistics of one user, as Bitrix24's call list shows them, and his notifications. */
export function renderCallLog(b24: Bitrix24Emulator, user: number): string {
  const calls = b24.calls
    .filter((c) => c.USER_ID === user)
    .slice()
    .reverse()
    .map((c) => {
      const entity =
        c.CRM_ENTITY_TYPE && c.CRM_ENTITY_ID ? `<a href="/crm/${c.CRM_ENTITY_TYPE.toLowerCase()}/details/${c.CRM_ENTITY_ID}/?user=${user}">${c.CRM_ENTITY_TYPE} ${c.CRM_ENTITY_ID}</a>` : '';
      const f = c.finished;
      return `<tr data-call="${esc(c.CALL_ID)}" data-status="${f ? esc(f.STATUS_CODE) : 'open'}"><td>${new Date(c.registeredAt).toISOString().slice(11, 19)}</td><td>${TYPE[c.TYPE] ?? c.TYPE}</td><td>${esc(c.PHONE_NUMBER)}</td><td>${entity}</td><td>${f ? esc(f.STATUS_CODE) : 'in progress / идёт'}</td><td>${f ? f.DURATION : ''}</td><td>${f ? esc(f.FAILED_REASON) : ''}</td></tr>`;
    })
    .join('');
  const notes = b24.notifications
    .filter((n) => n.userId === user)
    .slice()
    .reverse()
    .map((n) => `<li class="note">${new Date(n.at).toISOString().slice(11, 19)} ${esc(n.message)}</li>`)
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>Calls — ${esc(userName(b24.portal, user))}</title>${STYLE}</head><body>
<p class="lab">Bitrix24 emulator (lab) / Эмулятор Битрикс24 (лаборатория)</p>
<h1>Calls / Звонки: ${esc(userName(b24.portal, user))}</h1>
<h2>Notifications / Уведомления</h2><ul id="notifications">${notes}</ul>
<table id="calls"><tr><th>Time (UTC) / Время</th><th>Type / Тип</th><th>Number / Номер</th><th>CRM</th><th>Status / Статус</th><th>Duration, s / Длительность, с</th><th>Reason / Причина</th></tr>${calls}</table>
<p><a href="/">← portal / портал</a></p></body></html>`;
}

export function renderHome(portal: Portal): string {
  const rows = (['CONTACT', 'LEAD', 'COMPANY'] as const)
    .flatMap((t) => portal.list(t))
    .map(
      (e) =>
        `<tr><td><a href="/crm/${e.type.toLowerCase()}/details/${e.ID}/">${e.type} ${e.ID}</a></td><td>${esc(e.TITLE || e.NAME)}</td><td>${e.PHONE.map((p) => esc(p.VALUE)).join(', ')}</td><td>${esc(userName(portal, e.ASSIGNED_BY_ID))}</td></tr>`,
    )
    .join('');
  const users = [...portal.users.values()]
    .map((u) => `<tr><td>${u.ID}</td><td>${esc(u.NAME)} ${esc(u.LAST_NAME)}</td><td>${u.ACTIVE ? 'yes / да' : 'no / нет'}</td><td>${esc(u.UF_PHONE_INNER)}</td></tr>`)
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Bitrix24 emulator</title>${STYLE}</head><body>
<p class="lab">Bitrix24 emulator (lab) / Эмулятор Битрикс24 (лаборатория)</p><h1>CRM</h1>
<table><tr><th>Record / Запись</th><th>Title / Название</th><th>Phones / Телефоны</th><th>Responsible / Ответственный</th></tr>${rows}</table>
<h2>Users / Сотрудники</h2><table><tr><th>ID</th><th>Name / Имя</th><th>Active / Активен</th><th>UF_PHONE_INNER</th></tr>${users}</table></body></html>`;
}

import type { Portal, PortalEntity } from './portal';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const STYLE = `<style>body{font:14px system-ui,sans-serif;margin:24px;color:#333}h1{color:#2fc6f6}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}.lab{background:#fff3cd;padding:4px 8px;display:inline-block}</style>`;

function userName(portal: Portal, id: number): string {
  const u = portal.users.get(id);
  return u ? `${u.NAME} ${u.LAST_NAME}` : `#${id}`;
}

export function renderEntityPage(e: PortalEntity, portal: Portal): string {
  const kind = e.type.toLowerCase();
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(e.TITLE || e.NAME)} — ${kind}</title>${STYLE}</head><body>
<p class="lab">Bitrix24 emulator (lab) / Эмулятор Битрикс24 (лаборатория)</p>
<h1 data-entity="${e.type}:${e.ID}">${e.type} ${e.ID}: ${esc(e.TITLE || e.NAME)}</h1>
<table><tr><th>Responsible / Ответственный</th><td>${esc(userName(portal, e.ASSIGNED_BY_ID))}</td></tr>
<tr><th>Phones / Телефоны</th><td>${e.PHONE.map((p) => esc(p.VALUE)).join(', ')}</td></tr>
<tr><th>Source / Источник</th><td>${esc(e.SOURCE_ID)}</td></tr><tr><th>ORIGIN_ID</th><td>${esc(e.ORIGIN_ID)}</td></tr>
<tr><th>Created / Создан</th><td>${esc(e.DATE_CREATE)}</td></tr></table>
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

import { PAGE_STYLE } from '../stats/report-page';
import type { DoctorLang } from './doctor-text';
import type { DoctorLine } from './doctor';

const esc = (v: unknown) => String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const T = {
  ru: {
    title: 'Проверка подключений',
    intro: 'То же, что `finesse-bitrix24 doctor` на сервере коннектора: каждое подключение, и что сделать, если что-то не так.',
    area: 'Где',
    check: 'Проверка',
    result: 'Итог',
    todo: 'Что сделать',
    back: '← статистика',
    again: 'Проверить ещё раз',
  },
  en: {
    title: 'Connection checks',
    intro: "The same as `finesse-bitrix24 doctor` on the connector's server: every connection, and what to do where one is wrong.",
    area: 'Where',
    check: 'Check',
    result: 'Result',
    todo: 'What to do',
    back: '← statistics',
    again: 'Check again',
  },
};
// The UI Kit's success, warning and alert colors (conformance/bitrix24/ui/b24style-palette.txt), readable light and dark.
const STATUS = { ok: '#9dcf00', warn: '#ffa900', fail: '#ff5752', off: '#a8adb4' } as const;

/** The doctor's lines for a portal administrator, inside Bitrix24 (ru/en). */
export function renderDoctorPage(lang: DoctorLang, lines: DoctorLine[], session: string): string {
  const t = T[lang];
  const rows = lines
    .map(
      (l) =>
        `<tr data-status="${l.status}"><td>${esc(l.area)}</td><td>${esc(l.check)}</td><td><b style="color:${STATUS[l.status] ?? 'inherit'}">${esc(l.status.toUpperCase())}</b> ${esc(l.detail)}</td><td>${esc(l.fix)}</td></tr>`,
    )
    .join('');
  const self = `/bitrix/app/doctor?s=${encodeURIComponent(session)}&amp;lang=${lang}`;
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${t.title}</title><style>${PAGE_STYLE}</style></head><body>
<h1>${t.title}</h1><p class="muted">${esc(t.intro)}</p><p><a href="/bitrix/app?s=${encodeURIComponent(session)}&amp;lang=${lang}">${t.back}</a> · <a href="${self}">${t.again}</a></p>
<table><tr><th>${t.area}</th><th>${t.check}</th><th>${t.result}</th><th>${t.todo}</th></tr>${rows}</table></body></html>`;
}

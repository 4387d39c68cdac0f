import { PAGE_STYLE } from '../stats/report-page';
import type { TraceStep } from './call-trace';
import { details, stamp, summarize, type TraceLang } from './timeline';

const esc = (v: unknown) => String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const T = {
  ru: { title: 'Путь звонка', query: 'Номер, id звонка UCCX, диалога Finesse или CALL_ID', find: 'Найти', when: 'Когда', step: 'Шаг', outcome: 'Итог', facts: 'Подробности', back: '← статистика' },
  en: { title: "A call's way", query: 'Number, UCCX call id, Finesse dialog id or CALL_ID', find: 'Find', when: 'When', step: 'Step', outcome: 'Outcome', facts: 'Details', back: '← statistics' },
};

const STEP = {
  ru: {
    lookup: 'поиск UCCX',
    pop: 'карточка у оператора',
    report: 'отчёт гаджета',
    register: 'регистрация в Битрикс24',
    finish: 'завершение в Битрикс24',
    lead: 'лид',
    missed: 'пропущенный',
    click: 'клик по номеру',
    gadget: 'ошибка гаджета',
  },
  en: {
    lookup: 'UCCX lookup',
    pop: "pop in the agent's desktop",
    report: "gadget's report",
    register: 'registered in Bitrix24',
    finish: 'finished in Bitrix24',
    lead: 'lead',
    missed: 'missed call',
    click: 'click on a number',
    gadget: 'gadget error',
  },
};

/** The trace page inside Bitrix24: a call's steps in the portal's time zone, and where it stopped. */
export function renderTracePage(lang: TraceLang, query: string, steps: TraceStep[] | null, timeZone: string, session: string, notices: string[] = []): string {
  const t = T[lang];
  const hidden = `<input type="hidden" name="s" value="${esc(session)}"><input type="hidden" name="lang" value="${lang}">`;
  const rows = (steps ?? [])
    .map(
      (s) =>
        `<tr class="step-${esc(s.kind)}"><td>${esc(stamp(s.at, timeZone))}</td><td>${esc(STEP[lang][s.kind] ?? s.kind)}</td><td>${esc(s.outcome)}</td><td class="muted">${esc(details(s))}</td></tr>`,
    )
    .join('');
  const result =
    steps === null
      ? ''
      : `<p class="summary"><b>${esc(summarize(steps, lang))}</b></p>${steps.length ? `<table><tr><th>${t.when}</th><th>${t.step}</th><th>${t.outcome}</th><th>${t.facts}</th></tr>${rows}</table>` : ''}`;
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${t.title}</title><style>${PAGE_STYLE}</style></head><body>
<h1>${t.title}</h1>${notices.length ? `<div class="notice" data-notices>${notices.map((n) => `<p>${esc(n)}</p>`).join('')}</div>` : ''}<p><a href="/bitrix/app?s=${encodeURIComponent(session)}&amp;lang=${lang}">${t.back}</a></p>
<form method="get" action="/bitrix/app/trace">${hidden}<label>${t.query} <input name="q" value="${esc(query)}" size="32"></label> <button>${t.find}</button></form>
${result}</body></html>`;
}

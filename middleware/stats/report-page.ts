import type { AbandonedRow, AgentRow, CsqRow, VolumeRow } from './reports';
import type { Period } from './period';

/** The statistics page shown inside Bitrix24 (pure rendering; ru and en). */
const T = {
  ru: {
    title: 'Статистика контакт-центра',
    period: 'Период',
    from: 'с',
    to: 'по',
    queue: 'Очередь',
    agent: 'Агент',
    all: 'все',
    show: 'Показать',
    traceCall: 'Проследить звонок (номер, id звонка UCCX, диалога Finesse или CALL_ID)',
    trace: 'Проследить',
    doctor: 'Проверка подключений',
    presented: 'Поступило',
    handled: 'Обслужено',
    abandoned: 'Потеряно',
    dequeued: 'Снято с очереди',
    avgQueue: 'Ср. ожидание',
    maxQueue: 'Макс. ожидание',
    sl: 'Уровень сервиса, %',
    byHour: 'Звонки по часам',
    byDay: 'Звонки по дням',
    byCsq: 'Очереди',
    csqTitle: 'Активность очередей (CSQ Activity)',
    agentsTitle: 'Агенты (Agent Summary)',
    abandonedTitle: 'Потерянные звонки (Abandoned Call Detail)',
    agentCol: 'Агент',
    ext: 'Доб.',
    rna: 'Без ответа',
    talk: 'Разговор',
    hold: 'Удержание',
    work: 'Обработка',
    aht: 'Ср. время обслуж.',
    time: 'Время',
    caller: 'Звонивший',
    wait: 'Ожидание',
    record: 'Запись CRM',
    csv: 'CSV',
    zone: 'Часовой пояс',
    definitions: 'Определения — как в стандартных отчётах Cisco UCCX; уровень сервиса: потерянные звонки не учитываются (обслужено в пределах порога ÷ (поступило − потеряно в пределах порога)).',
    none: 'Нет звонков за период',
    unknownDisposition: (n: number) => `Записей очереди с исходом, которого нет в документации Cisco: ${n}. Они учтены только в «Поступило».`,
    shownOf: (shown: number, all: number) => `Показаны первые ${shown} из ${all}; все — в CSV.`,
    invalidTimes: (n: number) => `Записей с пустой или отрицательной длительностью (очередь, разговор, удержание, поствызывная обработка): ${n}. Они учтены с 0 с.`,
  },
  en: {
    title: 'Contact center statistics',
    period: 'Period',
    from: 'from',
    to: 'to',
    queue: 'Queue',
    agent: 'Agent',
    all: 'all',
    show: 'Show',
    traceCall: 'Trace a call (number, UCCX call id, Finesse dialog id or CALL_ID)',
    trace: 'Trace',
    doctor: 'Connection checks',
    presented: 'Presented',
    handled: 'Handled',
    abandoned: 'Abandoned',
    dequeued: 'Dequeued',
    avgQueue: 'Avg queue',
    maxQueue: 'Max queue',
    sl: 'Service level, %',
    byHour: 'Calls by hour',
    byDay: 'Calls by day',
    byCsq: 'Queues',
    csqTitle: 'CSQ Activity',
    agentsTitle: 'Agent Summary',
    abandonedTitle: 'Abandoned Call Detail',
    agentCol: 'Agent',
    ext: 'Ext.',
    rna: 'RNA',
    talk: 'Talk',
    hold: 'Hold',
    work: 'Work',
    aht: 'Avg handle',
    time: 'Time',
    caller: 'Caller',
    wait: 'Queue',
    record: 'CRM record',
    csv: 'CSV',
    zone: 'Time zone',
    definitions: "Definitions as in Cisco UCCX's stock reports; service level: abandoned calls not counted (handled within the threshold ÷ (presented − abandoned within it)).",
    none: 'No calls in the period',
    unknownDisposition: (n: number) => `Queue records with a disposition Cisco does not document: ${n}. They are counted in Presented only.`,
    shownOf: (shown: number, all: number) => `The first ${shown} of ${all} are shown; the CSV has them all.`,
    invalidTimes: (n: number) => `Records with a missing or negative duration (queue, talk, hold or work time): ${n}. They are counted with 0 s.`,
  },
};

export type PageLang = keyof typeof T;

export interface PageData {
  period: Period;
  filters: { queue: string; agent: string };
  csq: CsqRow[];
  agents: AgentRow[];
  abandoned: AbandonedRow[];
  volume: VolumeRow[];
  volumeBy: 'hour' | 'day';
  queues: string[];
  /** The agent picker's choices (the period's agents, every one, whatever the filter): login and name. */
  agentChoices?: Array<{ login: string; name: string }>;
  /** What only a portal administrator can fix (bitrix24/admin-notices.ts), in the page's language. */
  notices?: string[];
}

/** The administrator-fixable refusals, above everything else on the page. */
function noticeBox(notices: string[] = []): string {
  return notices.length ? `<div class="notice" data-notices>${notices.map((n) => `<p>${esc(n)}</p>`).join('')}</div>` : '';
}

const esc = (v: unknown) => String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function table(head: string[], rows: unknown[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${typeof c === 'object' && c !== null && 'html' in c ? (c as { html: string }).html : esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/**
 * The pages' look: the Bitrix24 UI Kit's design tokens (github.com/bitrix24/b24style, its palette and system font
 * stack; conformance/bitrix24/ui/b24style-palette.txt) as CSS variables — light, and dark when the reader's system
 * asks for it (the kit's pages follow the color scheme). Every color here is one of the kit's (a test checks).
 */
export const PAGE_STYLE = `:root{--bg:#f5f7f8;--card:#ffffff;--text:#333333;--text2:#525c69;--subtle:#828b95;--line:#eef2f4;--head:#eef2f4;
--primary:#2fc6f6;--on-primary:#ffffff;--link:#2066b0;--alert:#ff5752;--alert-bg:#ffe8e8;--warn:#ffa900;--warn-bg:#fff1d6;--warn-text:#7a5100;color-scheme:light dark}
@media (prefers-color-scheme: dark){:root{--bg:#0f0f0f;--card:#333333;--text:#f5f7f8;--text2:#dfe0e3;--subtle:#a8adb4;--line:#525c69;--head:#5b6573;
--link:#7fdefc;--alert-bg:#800602;--warn-bg:#614000;--warn-text:#fff1d6}}
body{font:14px/1.4 system-ui,-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Ubuntu,"Helvetica Neue",Arial,sans-serif;color:var(--text);margin:0;padding:16px;background:var(--bg)}
h1{font-size:22px;font-weight:300;margin:0 0 12px}h2{font-size:16px;font-weight:400;margin:20px 0 8px}
form{background:var(--card);padding:10px;border-radius:12px;display:flex;gap:12px;flex-wrap:wrap;align-items:center}
input,select{background:var(--card);color:var(--text);border:1px solid var(--line);border-radius:8px;padding:4px 6px}
.tiles{display:flex;gap:12px;margin:12px 0;flex-wrap:wrap}.tile{background:var(--card);border-radius:12px;padding:10px 16px;min-width:140px;color:var(--text2)}
.tile b{display:block;font-size:24px;font-weight:300;color:var(--primary)}
.charts{display:grid;grid-template-columns:2fr 1fr;gap:12px}.chart{background:var(--card);border-radius:12px;padding:10px;height:260px}
table{border-collapse:collapse;background:var(--card);width:100%;border-radius:12px;overflow:hidden}th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left}
th{background:var(--head);font-weight:600;color:var(--text2)}tr.total td{font-weight:600}
.muted{color:var(--subtle);font-size:12px}button{background:var(--primary);color:var(--on-primary);border:0;border-radius:8px;padding:6px 14px;cursor:pointer}a{color:var(--link)}
.error{background:var(--card);border-left:4px solid var(--alert);padding:12px 16px;border-radius:8px}
.notice{background:var(--warn-bg);color:var(--warn-text);border-left:4px solid var(--warn);padding:4px 16px;border-radius:8px;margin:0 0 12px}
[data-live-problem]{padding:8px 16px}`;

/** Seconds as a manager reads a duration: h:mm:ss (the CSV keeps seconds, numbers a spreadsheet sums). */
export function hms(seconds: number | null): string {
  if (seconds === null) return '—';
  const t = Math.round(seconds);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
}

/** Rows of the abandoned-call table on the page (a month can hold thousands; the CSV link has every one). */
const ABANDONED_SHOWN = 500;

export function renderReportPage(lang: PageLang, d: PageData, links: { self: string; csv: (report: string) => string; xlsx?: (report: string) => string; doctor?: string }, live = ''): string {
  const t = T[lang];
  const p = d.period;
  const sum = (k: 'presented' | 'handled' | 'abandoned') => d.volume.reduce((s, r) => s + r[k], 0);
  const presented = sum('presented');
  const csqPresented = d.csq.reduce((s, r) => s + r.presented, 0);
  const unknown = d.csq.reduce((s, r) => s + r.unknownDisposition, 0);
  const invalidTimes = [...d.csq, ...d.agents].reduce((s, r) => s + r.invalidTimes, 0);
  const avgQueue = csqPresented ? Math.round((d.csq.reduce((s, r) => s + r.avgQueueSeconds * r.presented, 0) / csqPresented) * 10) / 10 : 0;
  const pct = (n: number) => (presented ? `${Math.round((n / presented) * 1000) / 10}%` : '—');
  const chartData = {
    volume: { labels: d.volume.map((v) => v.bucket), handled: d.volume.map((v) => v.handled), abandoned: d.volume.map((v) => v.abandoned) },
    csq: { labels: d.csq.map((c) => c.csq), handled: d.csq.map((c) => c.handled), abandoned: d.csq.map((c) => c.abandoned), dequeued: d.csq.map((c) => c.dequeued) },
    text: { handled: t.handled, abandoned: t.abandoned, dequeued: t.dequeued },
  };
  const option = (v: string, label: string, current: string) => `<option value="${esc(v)}"${v === current ? ' selected' : ''}>${esc(label)}</option>`;
  const csvLink = (r: string) => `<a class="csv" href="${esc(links.csv(r))}">${t.csv}</a>${links.xlsx ? ` <a class="xlsx" href="${esc(links.xlsx(r))}" data-link="xlsx">XLSX</a>` : ''}`;
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${t.title}</title><style>${PAGE_STYLE}</style>
<script src="/bitrix/assets/chart.js"></script><script src="https://api.bitrix24.com/api/v1/"></script></head><body>
<h1>${t.title}</h1>
${noticeBox(d.notices)}${links.doctor ? `<p><a href="${esc(links.doctor)}" data-link="doctor">${t.doctor}</a></p>` : ''}
${live}
<form method="get" action="${esc(links.self.split('?')[0])}">
${[...new URL(links.self, 'http://x').searchParams]
  .filter(([k]) => ['s', 'lang'].includes(k))
  .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
  .join('')}
<label>${t.period} ${t.from} <input type="date" name="from" value="${esc(p.from)}"></label>
<label>${t.to} <input type="date" name="to" value="${esc(p.to)}"></label>
<label>${t.queue} <select name="queue">${option('', t.all, d.filters.queue)}${d.queues.map((q) => option(q, q, d.filters.queue)).join('')}</select></label>
<label>${t.agent} <select name="agent">${option('', t.all, d.filters.agent)}${[...(d.agentChoices ?? d.agents.map((r) => ({ login: r.login, name: r.agent })))]
    .filter((a, i, all) => a.login && all.findIndex((b) => b.login === a.login) === i)
    .map((a) => option(a.login, `${a.name} (${a.login})`, d.filters.agent))
    .join('')}</select></label>
<button>${t.show}</button><span class="muted">${t.zone}: ${esc(p.timeZone)}</span></form>
<div class="tiles">
<div class="tile" data-kpi="presented">${t.presented}<b>${presented}</b></div>
<div class="tile" data-kpi="handled">${t.handled}<b>${sum('handled')}</b><span class="muted">${pct(sum('handled'))}</span></div>
<div class="tile" data-kpi="abandoned">${t.abandoned}<b>${sum('abandoned')}</b><span class="muted">${pct(sum('abandoned'))}</span></div>
<div class="tile" data-kpi="avgQueue">${t.avgQueue}<b>${hms(avgQueue)}</b></div>
</div>
<div class="charts"><div class="chart"><canvas id="volumeChart" aria-label="${d.volumeBy === 'hour' ? t.byHour : t.byDay}"></canvas></div>
<div class="chart"><canvas id="csqChart" aria-label="${t.byCsq}"></canvas></div></div>
<h2>${t.csqTitle} ${csvLink('csq')}</h2>
${
  d.csq.length
    ? table(
        [t.queue, t.presented, t.handled, t.abandoned, t.dequeued, t.avgQueue, t.maxQueue, t.sl],
        d.csq.map((r) => [r.csq, r.presented, r.handled, r.abandoned, r.dequeued, hms(r.avgQueueSeconds), hms(r.maxQueueSeconds), r.serviceLevelPercent ?? '—']),
      )
    : `<p>${t.none}</p>`
}
${unknown ? `<p class="muted" data-warning="unknownDisposition">${t.unknownDisposition(unknown)}</p>` : ''}
${invalidTimes ? `<p class="muted" data-warning="invalidTimes">${t.invalidTimes(invalidTimes)}</p>` : ''}
<h2>${t.agentsTitle} ${csvLink('agents')}</h2>
${
  d.agents.length
    ? table(
        [t.agentCol, t.ext, t.presented, t.handled, t.rna, t.talk, t.hold, t.work, t.aht],
        d.agents.map((r) => [r.agent, r.extension, r.presented, r.handled, r.rna, hms(r.talkSeconds), hms(r.holdSeconds), hms(r.workSeconds), hms(r.avgHandleSeconds)]),
      )
    : `<p>${t.none}</p>`
}
<h2>${t.abandonedTitle} ${csvLink('abandoned')}</h2>
${
  d.abandoned.length
    ? table(
        [t.time, t.caller, t.queue, t.wait, t.record],
        d.abandoned
          .slice(0, ABANDONED_SHOWN)
          .map((r) => [
            r.time,
            r.caller,
            r.csq || '—',
            hms(r.queueSeconds),
            r.crmUrl ? { html: `<a href="${esc(r.crmUrl)}" target="_top" data-crm-path="${esc(new URL(r.crmUrl).pathname)}">${esc(r.crmRef)}</a>` } : r.crmRef || '—',
          ]),
      )
    : `<p>${t.none}</p>`
}
${d.abandoned.length > ABANDONED_SHOWN ? `<p class="muted" data-note="shownOf">${t.shownOf(ABANDONED_SHOWN, d.abandoned.length)}</p>` : ''}
<p class="muted">${t.definitions}</p>
<form method="get" action="/bitrix/app/trace" class="trace">${[...new URL(links.self, 'http://x').searchParams]
    .filter(([k]) => ['s', 'lang'].includes(k))
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('')}<label>${t.traceCall} <input name="q" size="24"></label> <button>${t.trace}</button></form>
<script>
// Inside Bitrix24 (its JS library loaded in the frame): a CRM record opens in Bitrix24's side panel, not in place of
// the page, and the frame grows to the page (b24restdocs: BX24.openPath, BX24.fitWindow). Outside it, links work as links.
(function () {
  if (!window.BX24) return;
  BX24.init(function () {
    BX24.fitWindow();
    document.addEventListener('click', function (e) {
      var a = e.target && e.target.closest ? e.target.closest('a[data-crm-path]') : null;
      if (!a) return;
      e.preventDefault();
      BX24.openPath(a.getAttribute('data-crm-path'));
    });
  });
})();
(function () {
  var d = ${JSON.stringify(chartData).replace(/</g, '\\u003c')};
  if (!window.Chart) return;
  var css = getComputedStyle(document.documentElement);
  Chart.defaults.color = css.getPropertyValue('--subtle').trim();
  Chart.defaults.borderColor = css.getPropertyValue('--line').trim();
  var opts = { responsive: true, maintainAspectRatio: false, animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } };
  window.fb24Charts = [
    new Chart(document.getElementById('volumeChart'), { type: 'bar', data: { labels: d.volume.labels, datasets: [
      { label: d.text.handled, data: d.volume.handled, backgroundColor: '#2fc6f6' },
      { label: d.text.abandoned, data: d.volume.abandoned, backgroundColor: '#ff5752' } ] }, options: opts }),
    new Chart(document.getElementById('csqChart'), { type: 'bar', data: { labels: d.csq.labels, datasets: [
      { label: d.text.handled, data: d.csq.handled, backgroundColor: '#2fc6f6' },
      { label: d.text.abandoned, data: d.csq.abandoned, backgroundColor: '#ff5752' },
      { label: d.text.dequeued, data: d.csq.dequeued, backgroundColor: '#ffa900' } ] }, options: opts })
  ];
})();
</script></body></html>`;
}

export function renderProblemPage(lang: PageLang, status: 403 | 503, reason: string, notices: string[] = []): string {
  const title = status === 403 ? { ru: 'Нет доступа к статистике', en: 'No access to the statistics' }[lang] : { ru: 'Статистика недоступна', en: 'Statistics unavailable' }[lang];
  const hint =
    status === 403
      ? {
          ru: 'Попросите администратора добавить вас в STATS_ALLOWED_USERS или ваш отдел в STATS_ALLOWED_DEPARTMENTS.',
          en: 'Ask the administrator to add you to STATS_ALLOWED_USERS or your department to STATS_ALLOWED_DEPARTMENTS.',
        }[lang]
      : { ru: 'База звонков UCCX сейчас не отвечает. Поиск звонящих и всплывающие карточки работают.', en: 'The UCCX call database does not answer now. Caller lookup and screen-pop keep working.' }[
          lang
        ];
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${title}</title><style>${PAGE_STYLE}</style></head><body>${noticeBox(notices)}<div class="error"><h1>${title}</h1><p>${esc(reason)}</p><p class="muted">${hint}</p></div></body></html>`;
}

import type { PageLang } from './report-page';

/**
 * The live section at the top of the statistics page: it asks the middleware for the last snapshot every second
 * (from memory: the database is read once per interval for everyone, live-reader.ts) and draws it. Everything a
 * supervisor reads is here in ru and en, the words UCCX's own real-time reports use for the agent states.
 */
const T = {
  ru: {
    title: 'Сейчас в очередях',
    queue: 'Очередь',
    waiting: 'Ждут',
    oldest: 'Дольше всех ждёт',
    ready: 'Готовы',
    talking: 'Разговаривают',
    reserved: 'Звонок у агента',
    working: 'Поствызывная',
    notReady: 'Не готовы',
    loggedIn: 'В системе',
    handled: 'Обслужено',
    abandoned: 'Потеряно',
    sl: 'Уровень сервиса, %',
    total: 'Всего',
    updated: (n: number) => `данные UCCX ${n} с назад`,
    starting: 'читается…',
    source: (interval: number, since: string) =>
      `Источник: база UCCX (db_cra), таблицы реального времени RtCSQsSummary и RtICDStatistics, интервал записи ${interval} с. Обслужено и потеряно — с ${since}; уровень сервиса — за сегодня по записям звонков.`,
    off: 'UCCX не записывает данные реального времени. В Unified CCX Administration откройте Tools → Real Time Snapshot Config, включите Data Writing Enable и отметьте Cisco Unified CCX CSQs Summary и Cisco Unified CCX System Summary.',
    stale: (age: string, interval: number) =>
      `Данные устарели: UCCX последний раз записал их ${age} (интервал ${interval} с). Проверьте, что в Tools → Real Time Snapshot Config включено Data Writing Enable и что UCCX Engine работает.`,
    unreachable: (age: string) => `База UCCX не отвечает; показаны последние данные (${age}).`,
    csqGap: 'UCCX не пишет данные по очередям: отметьте Cisco Unified CCX CSQs Summary в Tools → Real Time Snapshot Config.',
    systemGap: 'UCCX не пишет итоги по системе: отметьте Cisco Unified CCX System Summary в Tools → Real Time Snapshot Config.',
    ago: (n: number) => `${n} с назад`,
    never: 'ни разу',
    disabled: 'Живые очереди выключены (LIVE_INTERVAL_S=0).',
    none: 'Нет очередей в данных UCCX',
  },
  en: {
    title: 'Queues now',
    queue: 'Queue',
    waiting: 'Waiting',
    oldest: 'Longest wait',
    ready: 'Ready',
    talking: 'Talking',
    reserved: 'Reserved',
    working: 'Work',
    notReady: 'Not ready',
    loggedIn: 'Logged in',
    handled: 'Handled',
    abandoned: 'Abandoned',
    sl: 'Service level, %',
    total: 'Total',
    updated: (n: number) => `UCCX data ${n} s old`,
    starting: 'reading…',
    source: (interval: number, since: string) =>
      `Source: the UCCX database (db_cra), real-time tables RtCSQsSummary and RtICDStatistics, written every ${interval} s. Handled and abandoned since ${since}; service level for today from the call records.`,
    off: 'UCCX writes no real-time data. In Unified CCX Administration open Tools → Real Time Snapshot Config, turn on Data Writing Enable and tick Cisco Unified CCX CSQs Summary and Cisco Unified CCX System Summary.',
    stale: (age: string, interval: number) =>
      `The data is old: UCCX last wrote it ${age} (interval ${interval} s). Check that Data Writing Enable is on in Tools → Real Time Snapshot Config and that the UCCX Engine runs.`,
    unreachable: (age: string) => `The UCCX database does not answer; the last data is shown (${age}).`,
    csqGap: 'UCCX writes no per-queue data: tick Cisco Unified CCX CSQs Summary in Tools → Real Time Snapshot Config.',
    systemGap: 'UCCX writes no system totals: tick Cisco Unified CCX System Summary in Tools → Real Time Snapshot Config.',
    ago: (n: number) => `${n} s ago`,
    never: 'never',
    disabled: 'The live queues are off (LIVE_INTERVAL_S=0).',
    none: 'No queues in the UCCX data',
  },
};

/** The words the page's script needs, functions written as templates with {n} {age} {interval} {since}. */
function words(lang: PageLang): Record<string, string> {
  const t = T[lang];
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(t)) {
    out[k] = typeof v === 'function' ? (v as (...a: Array<string | number>) => string)('{a}', '{b}' as never) : v;
  }
  return out;
}

export function renderLiveSection(lang: PageLang, o: { url: string; timeZone: string }): string {
  const t = T[lang];
  const head = [t.queue, t.waiting, t.oldest, t.ready, t.talking, t.reserved, t.working, t.notReady, t.loggedIn, t.handled, t.abandoned, t.sl];
  const cfg = JSON.stringify({ url: o.url, zone: o.timeZone, lang, w: words(lang) }).replace(/</g, '\\u003c');
  return `<section class="live" data-live data-state="starting">
<h2>${t.title} <span class="muted" data-live-age>${t.starting}</span></h2>
<div class="notice" data-live-problem hidden></div>
<div class="tiles" data-live-tiles></div>
<table data-live-table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody></tbody></table>
<p class="muted" data-live-source></p>
</section>
<script>
(function () {
  var c = ${cfg};
  var w = c.w;
  var sec = document.querySelector('[data-live]');
  var last = null, fetchedAt = 0;
  function fill(s, a, b) { return s.replace('{a}', a).replace('{b}', b); }
  function hms(n) { if (n === null || n === undefined) return '—'; n = Math.max(0, Math.round(n)); var h = Math.floor(n / 3600), m = Math.floor(n % 3600 / 60), s = n % 60; return h + ':' + (m < 10 ? '0' : '') + m + ':' + (s < 10 ? '0' : '') + s; }
  function esc(v) { return String(v === null || v === undefined ? '' : v).replace(/[&<>"']/g, function (ch) { return '&#' + ch.charCodeAt(0) + ';'; }); }
  function when(iso) { if (!iso) return '—'; try { return new Intl.DateTimeFormat(c.lang === 'ru' ? 'ru-RU' : 'en-GB', { timeZone: c.zone, day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit' }).format(new Date(iso)); } catch (e) { return iso; } }
  function age(s) { return s.ageSeconds === null ? w.never : fill(w.ago, String(s.ageSeconds + Math.round((Date.now() - fetchedAt) / 1000)), ''); }
  function oldest(q, s) { return q.waiting && q.oldestWaitSeconds !== null ? hms(q.oldestWaitSeconds + (s.state === 'live' ? (s.ageSeconds || 0) + (Date.now() - fetchedAt) / 1000 : 0)) : '—'; }
  function row(name, q, s, sl) {
    var a = q.agents, k = q.calls;
    return '<tr data-queue="' + esc(name) + '"><td>' + esc(name) + '</td><td data-col="waiting"><b>' + q.waiting + '</b></td><td data-col="oldest">' + oldest(q, s) + '</td><td data-col="ready">' + a.ready + '</td><td data-col="talking">' + a.talking +
      '</td><td data-col="reserved">' + a.reserved + '</td><td data-col="working">' + a.working + '</td><td data-col="notReady">' + a.notReady + '</td><td data-col="loggedIn">' + a.loggedIn + '</td><td data-col="handled">' + k.handled + '</td><td data-col="abandoned">' + k.abandoned + '</td><td data-col="sl">' + (sl === null || sl === undefined ? '—' : sl) + '</td></tr>';
  }
  function draw() {
    var s = last;
    if (!s) return;
    sec.setAttribute('data-state', s.state);
    var problem = s.state === 'off' ? w.off : s.state === 'stale' ? fill(w.stale, age(s), String(s.intervalSeconds)) : s.state === 'unreachable' ? fill(w.unreachable, age(s), '') : s.state === 'disabled' ? w.disabled : '';
    if (!problem && s.gaps.length) problem = s.gaps.map(function (g) { return g === 'csq-summary' ? w.csqGap : w.systemGap; }).join(' ');
    var p = sec.querySelector('[data-live-problem]');
    p.hidden = !problem; p.textContent = problem;
    sec.querySelector('[data-live-age]').textContent = s.state === 'starting' ? w.starting : s.state === 'live' ? fill(w.updated, String(s.ageSeconds + Math.round((Date.now() - fetchedAt) / 1000)), '') : '';
    var t = s.totals, tiles = '';
    var sum = function (f) { return s.queues.reduce(function (n, q) { return n + f(q); }, 0); };
    var waiting = t ? t.waiting : sum(function (q) { return q.waiting; });
    var longest = s.queues.filter(function (q) { return q.waiting; }).reduce(function (m, q) { return q.oldestWaitSeconds !== null && (m === null || q.oldestWaitSeconds > m.oldestWaitSeconds) ? q : m; }, null);
    if (s.state !== 'starting' && s.state !== 'disabled' && s.state !== 'off') {
      tiles += '<div class="tile" data-kpi="waiting">' + w.waiting + '<b>' + waiting + '</b></div>';
      tiles += '<div class="tile" data-kpi="oldest">' + w.oldest + '<b>' + (longest ? oldest(longest, s) : '—') + '</b></div>';
      if (t) {
        tiles += '<div class="tile" data-kpi="ready">' + w.ready + '<b>' + t.agents.ready + '</b></div>';
        tiles += '<div class="tile" data-kpi="talking">' + w.talking + '<b>' + t.agents.talking + '</b></div>';
        tiles += '<div class="tile" data-kpi="notReady">' + w.notReady + '<b>' + t.agents.notReady + '</b></div>';
      }
    }
    sec.querySelector('[data-live-tiles]').innerHTML = tiles;
    var rows = s.queues.map(function (q) { return row(q.name, q, s, q.serviceLevelPercent); }).join('');
    if (t && s.queues.length) rows += row(w.total, { waiting: t.waiting, oldestWaitSeconds: t.oldestWaitSeconds, agents: t.agents, calls: t.calls }, s, null).replace('<tr ', '<tr class="total" ');
    sec.querySelector('[data-live-table] tbody').innerHTML = rows || (s.state === 'live' ? '<tr><td colspan="12">' + w.none + '</td></tr>' : '');
    sec.querySelector('[data-live-source]').textContent = s.state === 'disabled' ? '' : fill(w.source, String(s.intervalSeconds), when(s.since)) + (s.node && s.node !== 'db_cra' ? ' · ' + s.node : '');
  }
  function poll() {
    fetch(c.url, { cache: 'no-store' }).then(function (r) { return r.ok ? r.json() : null; }).then(function (s) {
      if (s) { last = s; fetchedAt = Date.now(); }
      draw();
    }, function () { draw(); });
  }
  poll();
  setInterval(function () { if (!document.hidden) poll(); else draw(); }, 1000);
})();
</script>`;
}

/** The lab page: the components, a form to place a simulated call, switches, and what happened. ru and en. */
export const LAB_TEXT = {
  en: {
    title: 'finesse-bitrix24 lab',
    intro: 'Everything here is emulated except the middleware, which is the product itself.',
    components: 'Components',
    middleware: 'Middleware (the product)',
    portal: 'Bitrix24 portal emulator',
    guide: 'UCCX call script guide',
    stats: 'Contact-center statistics in Bitrix24 (as the manager, user #2)',
    click: 'Click-to-dial: open the desktop of agent 1001, then click the number on this contact (as Ivan Petrov, user #5)',
    callLog: 'his calls in Bitrix24',
    fill: 'Fill another month of calls',
    desktops: 'Finesse desktops with the gadget (open one, then place a call)',
    standalone: 'Standalone gadget (own XMPP session)',
    noProsody: 'needs Prosody (apt-get install prosody)',
    place: 'Place a simulated call',
    from: 'Caller number',
    call: 'Call',
    examples:
      'Try: 89123456789 (contact, agent 1021) · 88125551122 (St Petersburg; stored without country code) · 89152223344 (two contacts share it) · 84951112233 (owner fired) · 79037778899 (contact + lead) · any new number (lead)',
    switches: 'Switches',
    latency: 'Bitrix24 latency, ms',
    outage: 'Bitrix24 outage',
    none: 'none',
    hang: 'hangs',
    error: 'HTTP 500',
    busy: '503: portal busy (REST limit used up)',
    deleted: 'portal deleted (PORTAL_DELETED)',
    moved: 'portal moved (301 redirect)',
    oddities: 'Bitrix24 refuses',
    blocked: 'crm.duplicate.findbycomm blocked (429 OPERATION_TIME_LIMIT)',
    noLeads: 'lead creation for calls off (LEAD_CREATION_ERROR)',
    reuse: 'hands back the CALL_ID of a call still open',
    ready: 'Agents Ready',
    csq: 'CSQ has agents',
    snapshot: 'UCCX writes the real-time snapshot (Tools > Real Time Snapshot Config)',
    waits: 'waits in the queue',
    sides: 'Finesse side A / side B (UCCX HA pair)',
    inService: 'in service',
    outOfService: 'out of service',
    failover: 'Fail over',
    after: 'the other side in service after',
    seconds: 's',
    calls: 'Calls',
    time: 'Time',
    answer: 'Lookup answer',
    went: 'Where the call went',
    card: 'CRM card',
    steps: 'Script steps',
    agent: 'agent',
    queue: 'CSQ',
    voicemail: 'voicemail',
    lang: 'Русский',
    scenarios:
      "Finesse as it really behaves, at agent 1001 (extension 1021) with the number above — open his desktop first (and Maria's, 1002 — a colleague and supervisor — for transfers and supervisor flows):",
    sc_preroute: 'Call after an IVR (PREROUTE_ACD_IN)',
    sc_withheld: 'Withheld caller',
    sc_rona: 'Nobody answers (RONA)',
    sc_transfer: 'Answered, consulted, transferred to 1022',
    sc_conference: 'Answered, conference with 1022',
    sc_outbound: 'Agent 1021 dials the number (AGENT_INSIDE, then OUT)',
    sc_blind: 'Answered, blind transfer to 1022 through route point 5000 (OFFERED)',
    sc_barge: 'Answered, supervisor Maria (1022) barges in',
    sc_intercept: 'Answered, supervisor Maria (1022) intercepts',
    sc_assist: '1021 asks supervisor 1022 for help (ASSIST)',
    sc_emergency: '1021 raises an emergency to 1022 (EMERGENCY)',
    sc_campaign: 'Preview campaign: dialer port 3001 reserves 1021, then calls the number',
    sc_chat: 'A chat offered to 1021 (Media node)',
    pair: 'Middleware pair (two nodes on PostgreSQL behind HAProxy)',
    balancer: 'balancer',
    nodeReady: 'ready',
    nodeNotReady: 'not ready',
    nodeStopped: 'stopped',
    startSecond: 'Start node 2',
    killSecond: 'Kill node 2 (kill -9)',
    pairNote: 'UCCX lookups, Bitrix24 events and the gadgets go through the balancer; kill node 2 in the middle of calls and clicks: nothing is lost or doubled.',
    noPair: 'one node on SQLite; a pair needs PostgreSQL and HAProxy',
  },
  ru: {
    title: 'Лаборатория finesse-bitrix24',
    intro: 'Здесь всё эмулируется, кроме middleware — это и есть продукт.',
    components: 'Компоненты',
    middleware: 'Middleware (продукт)',
    portal: 'Эмулятор портала Битрикс24',
    guide: 'Руководство по скрипту UCCX',
    stats: 'Статистика контакт-центра в Битрикс24 (как руководитель, пользователь №2)',
    click: 'Звонок по клику: откройте рабочий стол агента 1001, затем нажмите на номер этого контакта (как Иван Петров, пользователь №5)',
    callLog: 'его звонки в Битрикс24',
    fill: 'Добавить ещё месяц звонков',
    desktops: 'Рабочие столы Finesse с гаджетом (откройте и позвоните)',
    standalone: 'Гаджет отдельно (своё XMPP-подключение)',
    noProsody: 'нужен Prosody (apt-get install prosody)',
    place: 'Сымитировать входящий звонок',
    from: 'Номер звонящего',
    call: 'Позвонить',
    examples:
      'Примеры: 89123456789 (контакт, агент 1021) · 88125551122 (Санкт-Петербург; записан без кода страны) · 89152223344 (у двух контактов) · 84951112233 (ответственный уволен) · 79037778899 (контакт + лид) · любой новый номер (лид)',
    switches: 'Переключатели',
    latency: 'Задержка Битрикс24, мс',
    outage: 'Сбой Битрикс24',
    none: 'нет',
    hang: 'зависает',
    error: 'HTTP 500',
    busy: '503: портал занят (лимит REST исчерпан)',
    deleted: 'портал удалён (PORTAL_DELETED)',
    moved: 'портал переехал (перенаправление 301)',
    oddities: 'Битрикс24 отказывает',
    blocked: 'crm.duplicate.findbycomm заблокирован (429 OPERATION_TIME_LIMIT)',
    noLeads: 'создание лидов по звонкам выключено (LEAD_CREATION_ERROR)',
    reuse: 'возвращает CALL_ID ещё открытого звонка',
    ready: 'Агенты в Ready',
    csq: 'В CSQ есть агенты',
    snapshot: 'UCCX пишет снимок реального времени (Tools > Real Time Snapshot Config)',
    waits: 'ждёт в очереди',
    sides: 'Finesse, сторона A / сторона B (пара UCCX HA)',
    inService: 'в работе',
    outOfService: 'не в работе',
    failover: 'Переключить',
    after: 'другая сторона в работе через',
    seconds: 'с',
    calls: 'Звонки',
    time: 'Время',
    answer: 'Ответ поиска',
    went: 'Куда ушёл звонок',
    card: 'Карточка CRM',
    steps: 'Шаги скрипта',
    agent: 'агент',
    queue: 'очередь',
    voicemail: 'голосовая почта',
    lang: 'English',
    scenarios:
      'Finesse как он есть, у агента 1001 (добавочный 1021), с номером выше — сначала откройте его рабочий стол (и Марии, 1002 — коллеги и супервизора, — для переводов и действий супервизора):',
    sc_preroute: 'Звонок после IVR (PREROUTE_ACD_IN)',
    sc_withheld: 'Скрытый номер',
    sc_rona: 'Никто не ответил (RONA)',
    sc_transfer: 'Ответил, консультация, перевод на 1022',
    sc_conference: 'Ответил, конференция с 1022',
    sc_outbound: 'Агент 1021 набирает номер (AGENT_INSIDE, затем OUT)',
    sc_blind: 'Ответил, слепой перевод на 1022 через точку маршрутизации 5000 (OFFERED)',
    sc_barge: 'Ответил, супервизор Мария (1022) подключается к разговору',
    sc_intercept: 'Ответил, супервизор Мария (1022) перехватывает звонок',
    sc_assist: '1021 зовёт супервизора 1022 на помощь (ASSIST)',
    sc_emergency: '1021 — экстренный вызов супервизору 1022 (EMERGENCY)',
    sc_campaign: 'Кампания с предпросмотром: порт дозвона 3001 резервирует 1021, затем звонит на номер',
    sc_chat: 'Чат для 1021 (узел Media)',
    pair: 'Пара middleware (два узла на PostgreSQL за HAProxy)',
    balancer: 'балансировщик',
    nodeReady: 'готов',
    nodeNotReady: 'не готов',
    nodeStopped: 'остановлен',
    startSecond: 'Запустить узел 2',
    killSecond: 'Убить узел 2 (kill -9)',
    pairNote: 'Поиск из UCCX, события Битрикс24 и гаджеты идут через балансировщик; убейте узел 2 посреди звонков и кликов — ничего не теряется и не удваивается.',
    noPair: 'один узел на SQLite; для пары нужны PostgreSQL и HAProxy',
  },
} as const;

export type LabLang = keyof typeof LAB_TEXT;

/** The lab's current state, so a reload shows what is really switched on. */
export interface LabState {
  agents: Array<{ extension: string; ready: boolean }>;
  latencyMs: number;
  outage: 'none' | 'hang' | 'error' | 'busy' | 'deleted' | 'moved';
  csqStaffed: boolean;
  /** Whether the lab's UCCX writes its real-time snapshot (null: no call records in this lab). */
  snapshot?: boolean | null;
  /** Bitrix24's refusals that are not outages (emulator switches). */
  oddities: { blocked: boolean; noLeads: boolean; reuse: boolean };
  /** Finesse sides in service, when the lab runs both. */
  sides: { A: boolean; B: boolean } | null;
  /** The middleware pair's addresses, when the lab runs one; else why not. */
  pair?: { balancer: string; first: string; second: string } | null;
  pairMissing?: string;
}

type Link = { label: string; url: string };

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const sideText = (t: (typeof LAB_TEXT)[LabLang], s: { A: boolean; B: boolean }) => `A: ${s.A ? t.inService : t.outOfService} · B: ${s.B ? t.inService : t.outOfService}`;

export function renderLabPage(lang: LabLang, urls: { middleware: string; portal: string; stats?: string }, state: LabState, desktops: Link[] = [], standalone: Link[] = []): string {
  const t = LAB_TEXT[lang];
  const other = lang === 'en' ? 'ru' : 'en';
  const boxes = state.agents.map((a) => `<label><input type="checkbox" name="ready" value="${a.extension}"${a.ready ? ' checked' : ''}> ${a.extension}</label>`).join(' ');
  const option = (value: string | number, label: string, current: string | number) => `<option value="${value}"${String(value) === String(current) ? ' selected' : ''}>${label}</option>`;
  const latencies = [...new Set([0, 50, 500, 2000, state.latencyMs])].map((ms) => option(ms, String(ms), state.latencyMs)).join('');
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${t.title}</title>
<style>select{max-width:100%}
body{font:14px system-ui,sans-serif;margin:0;color:#222;background:#f4f6f8}header{background:#1d3557;color:#fff;padding:12px 24px}
main{padding:16px 24px;display:grid;grid-template-columns:340px 1fr;gap:16px}section{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 3px #0002}
h1{margin:0;font-size:20px}h2{font-size:15px;margin:0 0 8px}a{color:#1a73e8}input[type=text]{width:200px;padding:6px;font-size:15px}
button{padding:6px 14px;font-size:15px;background:#2fc6f6;border:0;border-radius:4px;cursor:pointer}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #eee;padding:6px;text-align:left;vertical-align:top}small{color:#666}.ok{color:#137333}.warn{color:#b06000}.bad{color:#c5221f}
ol{margin:0;padding-left:18px;font-size:12px;color:#444}#calls{grid-column:1/3}</style></head><body>
<header><h1>${t.title}</h1><small>${t.intro}</small> · <a style="color:#fff" href="?lang=${other}">${t.lang}</a></header>
<main>
<section><h2>${t.components}</h2><ul>
<li>${t.middleware}: <a href="${urls.middleware}/readyz" target="_blank">${urls.middleware}</a> · <a href="${urls.middleware}/metrics" target="_blank">/metrics</a></li>
<li>${t.portal}: <a href="${urls.portal}/" target="_blank">${urls.portal}</a></li>
<li>${t.desktops}: ${desktops.map((d) => `<a href="${d.url}" target="_blank">${d.label}</a>`).join(' · ') || '—'}</li>
<li>${t.standalone}: ${standalone.map((d) => `<a href="${d.url}" target="_blank">${d.label}</a>`).join(' · ') || t.noProsody}</li>
<li><a href="${urls.portal}/crm/contact/details/42/?user=5" target="_blank">${t.click}</a> · <a href="${urls.portal}/lab/calls?user=5" target="_blank">${t.callLog}</a></li>
${urls.stats ? `<li><a href="${urls.stats}" target="_blank">${t.stats}</a> <button id="fill" type="button">${t.fill}</button> <span id="filled"></span></li>` : ''}
<li><a href="/guide" target="_blank">${t.guide}</a></li></ul>
<h2>${t.switches}</h2>
<p>${t.latency}: <select id="latency">${latencies}</select></p>
<p>${t.outage}: <select id="outage">${option('none', t.none, state.outage)}${option('hang', t.hang, state.outage)}${option('error', t.error, state.outage)}${option('busy', t.busy, state.outage)}${option('deleted', t.deleted, state.outage)}${option('moved', t.moved, state.outage)}</select></p>
<p>${t.oddities}:<br>${(['blocked', 'noLeads', 'reuse'] as const).map((k) => `<label><input type="checkbox" id="${k}"${state.oddities[k] ? ' checked' : ''}> ${t[k]}</label>`).join('<br>')}</p>
<p>${t.ready}: ${boxes}</p><p><label><input type="checkbox" id="csq"${state.csqStaffed ? ' checked' : ''}> ${t.csq}</label></p>
${typeof state.snapshot === 'boolean' ? `<p><label><input type="checkbox" id="snapshot"${state.snapshot ? ' checked' : ''}> ${t.snapshot}</label></p>` : ''}
${state.pair ? `<p>${t.pair}: <a href="${state.pair.balancer}/readyz" target="_blank">${t.balancer} ${state.pair.balancer}</a><br><span id="nodes"></span><br><button type="button" id="startSecond">${t.startSecond}</button> <button type="button" id="killSecond">${t.killSecond}</button><br><small>${t.pairNote}</small></p>` : state.pairMissing ? `<p>${t.pair}: <small>${t.noPair} (${escapeHtml(state.pairMissing)})</small></p>` : ''}
${state.sides ? `<p>${t.sides}: <span id="sides">${sideText(t, state.sides)}</span><br><button type="button" id="failover">${t.failover}</button> ${t.after} <select id="failoverDelay">${[0, 5, 30, 120].map((sec) => option(sec * 1000, `${sec} ${t.seconds}`, 5000)).join('')}</select></p>` : ''}</section>
<section><h2>${t.place}</h2><form id="call"><label>${t.from}: <input type="text" id="ani" value="89123456789"></label> <button id="dial">${t.call}</button></form>
<p><small>${t.examples}</small></p><div id="last"></div>
<p><small>${t.scenarios}</small></p><p id="scenarios">${(['preroute', 'withheld', 'rona', 'transfer', 'conference', 'outbound', 'blind', 'barge', 'intercept', 'assist', 'emergency', 'campaign', 'chat'] as const).map((k) => `<button type="button" data-scenario="${k}">${t[`sc_${k}`]}</button>`).join(' ')}</p></section>
<section id="calls"><h2>${t.calls}</h2><table><thead><tr><th>${t.time}</th><th>${t.from}</th><th>${t.answer}</th><th>${t.went}</th><th>${t.card}</th><th>${t.steps}</th></tr></thead><tbody id="log"></tbody></table></section>
</main>
<script>
const T=${JSON.stringify({ agent: t.agent, queue: t.queue, voicemail: t.voicemail, waits: t.waits })};
const portal=${JSON.stringify(urls.portal)};
const esc=s=>String(s).replace(/[&<>"']/g,c=>'&#'+c.charCodeAt(0)+';');
async function switches(){
  const ready=[...document.querySelectorAll('input[name=ready]:checked')].map(i=>i.value);
  await fetch('/api/switches',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({latencyMs:+document.getElementById('latency').value,outage:document.getElementById('outage').value,ready,csqStaffed:document.getElementById('csq').checked,snapshot:document.getElementById('snapshot')?document.getElementById('snapshot').checked:undefined,oddities:{blocked:document.getElementById('blocked').checked,noLeads:document.getElementById('noLeads').checked,reuse:document.getElementById('reuse').checked}})});
}
document.querySelectorAll('select,input[type=checkbox]').forEach(e=>e.addEventListener('change',switches));
const SIDE=${JSON.stringify({ in: t.inService, out: t.outOfService })};
const sidesEl=document.getElementById('sides');
if(sidesEl){
  const show=s=>{sidesEl.textContent='A: '+(s.A?SIDE.in:SIDE.out)+' · B: '+(s.B?SIDE.in:SIDE.out);sidesEl.dataset.a=s.A;sidesEl.dataset.b=s.B;};
  setInterval(async()=>show(await(await fetch('/api/finesse-sides')).json()),1000);
  document.getElementById('failover').addEventListener('click',async()=>{show(await(await fetch('/api/finesse-failover',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({delayMs:+document.getElementById('failoverDelay').value})})).json());});
}
const NODE=${JSON.stringify({ ready: t.nodeReady, notReady: t.nodeNotReady, stopped: t.nodeStopped })};
const nodesEl=document.getElementById('nodes');
if(nodesEl){
  const showNodes=s=>{if(!s.nodes)return;nodesEl.innerHTML=s.nodes.map(n=>'<span data-node="'+esc(n.name)+'" data-state="'+(n.running?(n.ready?'ready':'not-ready'):'stopped')+'">'+esc(n.name)+' <a target="_blank" href="'+esc(n.url)+'/readyz">'+esc(n.url)+'</a>: '+(n.running?(n.ready?NODE.ready:NODE.notReady):NODE.stopped)+'</span>').join(' · ');};
  const nodes=async(action)=>{const r=await fetch(action?'/api/nodes/second':'/api/nodes',action?{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({action})}:{});const s=await r.json();if(!r.ok){nodesEl.textContent=s.error;return;}showNodes(s);};
  nodes();setInterval(()=>nodes(),1000);
  document.getElementById('startSecond').addEventListener('click',()=>nodes('start'));
  document.getElementById('killSecond').addEventListener('click',()=>nodes('kill'));
}
const fill=document.getElementById('fill');
if(fill)fill.addEventListener('click',async()=>{const r=await(await fetch('/api/fill-month',{method:'POST'})).json();document.getElementById('filled').textContent=r.added+' ('+r.from+' … '+r.to+')';});
document.querySelectorAll('[data-scenario]').forEach(b=>b.addEventListener('click',async()=>{
  const res=await fetch('/api/finesse-scenario',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({scenario:b.dataset.scenario,number:document.getElementById('ani').value})});
  const r=await res.json();
  document.getElementById('last').innerHTML='<p class="'+(res.ok?'ok':'bad')+'">'+esc(res.ok?b.textContent+' · '+r.dialogId:r.error)+'</p>';
}));
document.getElementById('call').addEventListener('submit',async ev=>{
  ev.preventDefault();
  const res=await fetch('/api/call',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({ani:document.getElementById('ani').value})});
  const c=await res.json();
  if(!res.ok){document.getElementById('last').innerHTML='<p class="bad">'+esc(c.error)+'</p>';return;}
  const a=c.lookup;
  const cls=!a?'bad':a.status==='degraded'?'warn':'ok';
  const card=a&&a.crmRef?'<a target="_blank" href="'+portal+'/crm/'+a.entityType.toLowerCase()+'/details/'+a.entityId+'/">'+esc(a.crmRef)+'</a>':'—';
  const went=T[c.outcome.kind==='csq'?'queue':c.outcome.kind]+' '+esc(c.outcome.target)+(c.ringing?' → Finesse '+esc(c.ringing.agent):c.queued?' · '+T.waits+' #'+c.queued.position:'');
  const row='<tr data-call="'+c.callId+'"><td>'+new Date().toLocaleTimeString()+'</td><td>'+esc(c.ani)+'</td><td class="'+cls+'">'+(a?esc(a.status+' · '+a.route+(a.extension?' '+a.extension:'')+(a.reason?' · '+a.reason:'')):'exception')+'<br><small>'+Math.round(c.lookupMs)+' ms</small></td><td class="went"><b>'+went+'</b></td><td>'+card+'</td><td><ol>'+c.steps.map(s=>'<li>'+esc(s)+'</li>').join('')+'</ol></td></tr>';
  document.getElementById('log').insertAdjacentHTML('afterbegin',row);
  document.getElementById('last').innerHTML='<p class="'+cls+'"><b>'+went+'</b></p>';
});
</script></body></html>`;
}

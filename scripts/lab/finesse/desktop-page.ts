import type { LabAgent } from './finesse-emulator';
import { FINESSE_RELAY_JS } from './finesse-relay';

/**
 * The lab's Finesse desktop: a container page that owns the agent's notification channel and relays every
 * notification to the gadget over a hub (postMessage) exactly as finesse.js does (finesse-relay.ts): topic = node
 * ("/" → "."), payload {content: node path + payload, object: the payload parsed}, and a payload that does not
 * parse is logged and never relayed; plus `finesse.info.connection`. Lab code.
 */
const TEXT = {
  ru: {
    title: 'Finesse (эмулятор лаборатории)',
    agent: 'Агент',
    ext: 'добавочный',
    answer: 'Ответить',
    hangUp: 'Положить трубку',
    call: 'Звонок',
    READY: 'Готов',
    NOT_READY: 'Не готов',
    TALKING: 'Разговор',
    LOGOUT: 'Вышел',
  },
  en: {
    title: 'Finesse (lab emulator)',
    agent: 'Agent',
    ext: 'extension',
    answer: 'Answer',
    hangUp: 'Hang up',
    call: 'Call',
    READY: 'Ready',
    NOT_READY: 'Not Ready',
    TALKING: 'Talking',
    LOGOUT: 'Signed out',
  },
};

/** The side that served this desktop and, with two sides, the same desktop on the other. */
export interface DesktopSide {
  side: string;
  alternate: { side: string; url: string } | null;
}

/** `gadgetSrcs`: one iframe per instance of our gadget in the layout (the first is `#gadget`, then `#gadget-2`…). */
export function renderDesktop(agent: LabAgent, lang: 'ru' | 'en', state: string, liveDialogs: string[], gadgetSrcs: string[], where: DesktopSide = { side: 'A', alternate: null }): string {
  const t = TEXT[lang];
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${t.title}</title>
<style>body{margin:0;font:14px Arial,sans-serif;background:#e9edf0}header{background:#0d274d;color:#fff;padding:10px 16px;display:flex;justify-content:space-between}
main{display:flex;gap:16px;padding:16px}.panel{background:#fff;border-radius:4px;box-shadow:0 1px 2px #0003}.gadget{border:0;width:360px;height:200px;display:block}
#calls{padding:8px;margin-top:16px;width:344px}#calls:empty{display:none}#calls button{margin-left:6px}
#log{font:12px monospace;white-space:pre-wrap;max-height:400px;overflow:auto;padding:8px;width:520px}</style></head><body>
<header><b>${t.title}</b><span>${t.agent} ${esc(agent.name)} (${esc(agent.id)}), ${t.ext} ${esc(agent.extension)} · <span id="agent-state" data-state="${esc(state)}">${t[state as 'READY'] ?? esc(state)}</span></span></header>
<main><div>${gadgetSrcs.map((src, i) => `<div class="panel"><iframe class="gadget" id="${i === 0 ? 'gadget' : `gadget-${i + 1}`}" title="Bitrix24" src="${esc(src)}"></iframe></div>`).join('')}<div class="panel" id="calls"></div></div><div class="panel" id="log"></div></main>
<script>
// Every gadget instance hears the topics it subscribed to, as the desktop's hub relays them to each.
const frames = [...document.querySelectorAll('iframe.gadget')];
const gadgetOrigin = frames.length ? new URL(frames[0].src).origin : location.origin;
const subscribed = new Map(frames.map((f) => [f, []]));
const log = (s) => { const l = document.getElementById('log'); l.textContent = new Date().toLocaleTimeString() + ' ' + s + '\\n' + l.textContent.slice(0, 20000); };
const matches = (pattern, topic) => {
  const p = pattern.split('.'), t = topic.split('.');
  for (let i = 0; i < p.length; i++) { if (p[i] === '**') return true; if (p[i] !== '*' && p[i] !== t[i]) return false; }
  return p.length === t.length;
};
function relay(topic, data) {
  for (const [frame, topics] of subscribed) if (topics.some((p) => matches(p, topic))) frame.contentWindow.postMessage({ type: 'hub', topic, data }, gadgetOrigin);
}
window.addEventListener('message', (ev) => {
  if (ev.origin !== gadgetOrigin || !ev.data) return;
  const frame = frames.find((f) => f.contentWindow === ev.source);
  if (!frame) return;
  if (ev.data.type === 'subscribe') subscribed.get(frame).push(ev.data.topic);
  if (ev.data.type === 'adjustHeight') frame.style.height = Math.max(120, ev.data.height) + 'px';
});
// Call control, as the desktop's own call panel: answer and hang up with the agent's credentials (lab).
const T = ${JSON.stringify(t)}, EXT = ${JSON.stringify(agent.extension)}, AUTH = ${JSON.stringify(`Basic ${Buffer.from(`${agent.id}:${agent.password}`).toString('base64')}`)};
const live = new Map(${JSON.stringify(liveDialogs)}.map((id) => [id, { state: '', mine: '' }]));
function control(label, action, id) {
  const b = document.createElement('button');
  b.textContent = label;
  b.dataset.action = action;
  b.onclick = () => fetch('/finesse/api/Dialog/' + id, { method: 'PUT', headers: { authorization: AUTH, 'content-type': 'application/xml' }, body: '<Dialog><targetMediaAddress>' + EXT + '</targetMediaAddress><requestedAction>' + action + '</requestedAction></Dialog>' });
  return b;
}
function renderCalls() {
  const box = document.getElementById('calls');
  box.textContent = '';
  for (const [id, c] of live) {
    const row = document.createElement('div');
    row.dataset.dialog = id;
    row.textContent = T.call + ' ' + id + ' · ' + c.state;
    if (c.mine === 'ALERTING') row.append(control(T.answer, 'ANSWER', id));
    row.append(control(T.hangUp, 'DROP', id));
    box.append(row);
  }
}
function track(content) {
  const doc = new DOMParser().parseFromString(content, 'text/xml');
  const d = doc.getElementsByTagName('Dialog')[0];
  if (!d) return;
  const kid = (el, n) => { for (const c of el.children) if (c.nodeName === n) return c.textContent; return ''; };
  const id = kid(d, 'id'), state = kid(d, 'state');
  const me = [...d.getElementsByTagName('Participant')].find((p) => kid(p, 'mediaAddress') === EXT);
  const event = (doc.getElementsByTagName('event')[0] || {}).textContent;
  const before = JSON.stringify([...live]);
  if (event === 'DELETE' || state === 'DROPPED') live.delete(id);
  else live.set(id, { state, mine: me ? kid(me, 'state') : '' });
  if (JSON.stringify([...live]) !== before) renderCalls(); // buttons stay put while nothing changes
}
renderCalls();
const es = new EventSource('/lab/events?agent=${encodeURIComponent(agent.id)}');
es.onopen = () => log('notifications connected (side ' + ${JSON.stringify(where.side)} + ')');
es.onmessage = (e) => {
  const m = JSON.parse(e.data);
  if (m.state) { const el = document.getElementById('agent-state'); el.dataset.state = m.state; el.textContent = (${JSON.stringify(t)})[m.state] || m.state; return; }
  if (m.connection) { log('finesse.info.connection ' + m.connection); relay('finesse.info.connection', { status: m.connection, resourceID: 'desktop' }); return; }
  if (m.sides) { failover(m.sides); return; }
  let event;
  try {
    event = fb24FinesseRelay(m.node + m.content, (xml) => new DOMParser().parseFromString(xml, 'text/xml'));
  } catch (err) {
    log('MasterPublisher: [ERROR] ' + err.message); // finesse.js publishes nothing then
    return;
  }
  log(event.topic + ' ' + m.content.slice(0, 160));
  relay(event.topic, event.data);
  try { track(m.content); } catch (err) { /* not a dialog: nothing to show */ }
};
// Failover, as the real desktop does it: its side goes out of service → "failing"; once the other side is in
// service the desktop moves there (a new page load on that node, the gadget loaded afresh from it).
const SIDE = ${JSON.stringify(where)};
function failover(sides) {
  if (sides[SIDE.side]) return;
  log('finesse side ' + SIDE.side + ' out of service');
  relay('finesse.info.connection', { status: 'failing', resourceID: 'desktop' });
  if (SIDE.alternate && sides[SIDE.alternate.side]) window.location.href = SIDE.alternate.url;
}
${FINESSE_RELAY_JS}
</script></body></html>`;
}

/** Stands in for Shindig's gadgets.* inside the gadget iframe: Hub over postMessage, Prefs, adjustHeight. */
export const SHINDIG_STANDIN = `(function () {
  var parentOrigin = window.__LAB_PARENT, prefs = window.__LAB_PREFS || {}, subs = {}, n = 0;
  function match(pattern, topic) {
    var p = pattern.split('.'), t = topic.split('.');
    for (var i = 0; i < p.length; i++) { if (p[i] === '**') return true; if (p[i] !== '*' && p[i] !== t[i]) return false; }
    return p.length === t.length;
  }
  window.gadgets = {
    HubSettings: {},
    Hub: {
      subscribe: function (topic, cb) { var id = 's' + (++n); subs[id] = { topic: topic, cb: cb }; parent.postMessage({ type: 'subscribe', topic: topic }, parentOrigin); return id; },
      unsubscribe: function (id) { delete subs[id]; },
      publish: function (topic, data) { parent.postMessage({ type: 'publish', topic: topic, data: data }, parentOrigin); },
      isConnected: function () { return true; }
    },
    window: { adjustHeight: function (h) { parent.postMessage({ type: 'adjustHeight', height: h || document.documentElement.scrollHeight }, parentOrigin); } },
    Prefs: function () { this.getString = function (k) { return prefs[k] || ''; }; this.getLang = function () { return (prefs.locale || 'en').slice(0, 2); }; }
  };
  window.addEventListener('message', function (ev) {
    if (ev.origin !== parentOrigin || !ev.data || ev.data.type !== 'hub') return;
    for (var id in subs) if (match(subs[id].topic, ev.data.topic)) subs[id].cb(ev.data.topic, ev.data.data);
  });
  window.addEventListener('load', function () { if (gadgets.HubSettings.onConnect) gadgets.HubSettings.onConnect(); });
})();`;

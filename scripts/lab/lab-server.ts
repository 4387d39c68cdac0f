import { ContactCenterFlows } from './finesse/contact-center-flows';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { LAB_UCCX_TOKEN, type Stack } from './lab-stack';
import { renderLabPage } from './lab-page';
import { runCallScript, type CallTrace, type Site } from './uccx-simulator';
import type Database from 'better-sqlite3';
import moment from 'moment-timezone';
import { insertCall } from '../../testing/ccdr-stand-in';
import { SqliteCcdrSource } from '../../middleware/stats/ccdr-source';
import { UTC_TEXT } from '../../middleware/stats/period';
import { generateCalls } from './ccdr-generator';
import { emptyDay, UccxRealtimeWriter, type CsqDay, type LabAgentState } from './uccx-realtime-writer';

/** Which agent the lab shows with a standalone gadget per transport (the desktop links cover all agents). */
export const STANDALONE_AGENTS = [
  ['1002', 'websocket'],
  ['1003', 'bosh'],
] as const;

/** The lab's UCCX agents in db_cra (Resource): extension → resourceID, as seedConfig writes them. */
/** The method the lab's "blocked" switch blocks: the lookup's own search, which has a documented stand-in. */
const BLOCKABLE = 'crm.duplicate.findbycomm';
const RESOURCE_BY_EXTENSION: Record<string, number> = { '1021': 14, '1022': 13 };

/** What UCCX would write to db_cra for a call the simulator ran (Cisco UCCX Database Schema Guide 12.5(1)). */
/** UCCX's CSQs in the lab (contactservicequeue of the stand-in): every lab call queues for Sales. */
const LAB_CSQS = ['Sales', 'Support'] as const;
/** A caller waiting this long with no agent Ready hangs up (abandoned in queue). */
const LAB_PATIENCE_MS = 10 * 60_000;

/** A Finesse agent state as UCCX's real-time counts name it (conformance/uccx/cisco-docs/agent-states-cti-queue-statistics.txt). */
function uccxState(finesseState: string | undefined, ringing: boolean): LabAgentState {
  if (ringing) return 'reserved';
  if (!finesseState || finesseState === 'LOGOUT') return 'loggedOut';
  if (finesseState === 'READY') return 'ready';
  if (finesseState === 'TALKING' || finesseState === 'HOLD') return 'talking';
  if (finesseState.startsWith('RESERVED')) return 'reserved';
  if (finesseState.startsWith('WORK')) return 'working';
  return 'notReady';
}

export function recordCall(db: Database.Database, trace: CallTrace, agentExtension: string | null, session: number, queueSeconds = 6): void {
  const start = moment.utc().subtract(1, 'second').format(UTC_TEXT);
  const crmRef = trace.variables.PeripheralVariable2;
  const resource = agentExtension ? RESOURCE_BY_EXTENSION[agentExtension] : undefined;
  if (trace.outcome.kind === 'voicemail' || !resource) {
    insertCall(db, { session, start, caller: trace.ani, crmRef, disposition: 1, queues: [{ csq: 9, disposition: 1, queueTime: 15, met: true }] });
    return;
  }
  insertCall(db, {
    session,
    start,
    caller: trace.ani,
    crmRef,
    disposition: 2,
    queues: trace.outcome.kind === 'csq' ? [{ csq: 9, disposition: 2, queueTime: queueSeconds, met: queueSeconds <= 20 }] : [],
    agents: [{ resource, ring: 3, talk: 60, hold: 0, work: 10 }],
  });
}

/** Serves the lab page and drives the emulators for it. */
export async function startLabServer(stack: Stack, port: number): Promise<{ url: string; server: http.Server; calls: CallTrace[] }> {
  // Every portal user with an extension is an agent of the lab's contact center, Ready at start.
  const agents = [...stack.emulator.portal.users.values()].map((u) => u.UF_PHONE_INNER).filter(Boolean);
  const site: Site = { readyExtensions: new Set(agents), csqStaffed: true };
  /** The lab's "Ready" switches are the agents' Finesse states too (click-to-dial reads them there). */
  const syncFinesse = () => {
    for (const a of stack.finesse?.agents ?? []) {
      if (stack.finesse!.states.get(a.id) === 'TALKING') continue; // a switch on the page never ends a call's state
      stack.finesse!.setState(a.id, site.readyExtensions.has(a.extension) ? 'READY' : 'NOT_READY');
    }
  };
  syncFinesse();
  // And back: an agent the gadget switched to Not Ready to dial, or who is talking, gets no routed call.
  if (stack.finesse) {
    stack.finesse.onState = (agentId, state) => {
      const ext = stack.finesse!.agents.find((a) => a.id === agentId)?.extension;
      if (!ext) return;
      if (state === 'READY') site.readyExtensions.add(ext);
      else site.readyExtensions.delete(ext);
      if (state === 'READY') setImmediate(() => deliverLater());
    };
  }
  let deliverLater = () => {};
  const calls: CallTrace[] = [];
  const ccdrPath = stack.connector.config.stats.source?.kind === 'sqlite' ? stack.connector.config.stats.source.path : null;
  const ccdr = ccdrPath ? new SqliteCcdrSource(ccdrPath, { writable: true }) : null;
  /** The call reaches an agent: the agent's phone rings in Finesse with the call variables the script set. */
  const ringAgent = (trace: CallTrace, to?: string): { agent: string; dialogId: string } | null => {
    const finesse = stack.finesse;
    if (!finesse) return null;
    const ext = to ?? (trace.outcome.kind === 'agent' ? trace.outcome.target : trace.outcome.kind === 'csq' ? [...site.readyExtensions].sort()[0] : undefined);
    const agent = ext ? finesse.agentByExtension(ext) : undefined;
    if (!agent) return null;
    const vars = { callVariable1: trace.variables.PeripheralVariable1, callVariable2: trace.variables.PeripheralVariable2 };
    return { agent: agent.id, dialogId: finesse.ring(agent.extension, trace.ani, { vars }) };
  };
  // UCCX's queue, as the lab plays it: a call for the CSQ with nobody Ready waits, and goes to the first agent who
  // becomes Ready; the day's counters and the waiting calls are what the real-time snapshot writer reports.
  const waiting: Array<{ trace: CallTrace; since: number; session: number }> = [];
  const days = new Map<string, CsqDay>(LAB_CSQS.map((c) => [c, emptyDay()]));
  const sales = days.get('Sales')!;
  const counted = (waitedMs: number, outcome: 'handled' | 'abandoned') => {
    sales.total += 1;
    sales[outcome] += 1;
    sales.waitTotalMs += waitedMs;
    sales.waitMaxMs = Math.max(sales.waitMaxMs, waitedMs);
    if (outcome === 'handled') {
      sales.talkTotalMs += 60_000;
      sales.talkMaxMs = Math.max(sales.talkMaxMs, 60_000);
    }
  };
  const deliver = () => {
    const now = Date.now();
    while (waiting.length && now - waiting[0]!.since > LAB_PATIENCE_MS) {
      const gone = waiting.shift()!;
      counted(now - gone.since, 'abandoned');
      if (ccdr) recordCall(ccdr.db, { ...gone.trace, outcome: { kind: 'voicemail', target: '' } }, null, gone.session);
    }
    const free = () => [...site.readyExtensions].sort().find((ext) => !stack.finesse?.liveDialogs(stack.finesse.agentByExtension(ext)?.id ?? '').length);
    for (let ext = free(); waiting.length && ext; ext = free()) {
      const next = waiting.shift()!;
      if (!ringAgent(next.trace, ext)) {
        waiting.unshift(next);
        return;
      }
      const waited = now - next.since;
      counted(waited, 'handled');
      if (ccdr) recordCall(ccdr.db, next.trace, ext, next.session, Math.round(waited / 1000));
    }
  };
  const writer =
    ccdr && stack.connector.config.stats.liveIntervalS > 0
      ? new UccxRealtimeWriter(
          ccdr.db,
          {
            csqs: () => {
              deliver();
              return LAB_CSQS.map((name) => ({ name, waitingSince: name === 'Sales' ? waiting.map((w) => w.since) : [], day: days.get(name)! }));
            },
            agents: () =>
              (stack.finesse?.agents ?? []).map((a) =>
                uccxState(
                  stack.finesse!.states.get(a.id),
                  stack.finesse!.liveDialogs(a.id).some((d) => d.state === 'ALERTING'),
                ),
              ),
          },
          stack.connector.config.stats.liveIntervalS * 1000,
        )
      : null;
  writer?.start();
  deliverLater = deliver;
  const router = new Router();
  router.get('/', (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = renderLabPage(
      ctx.query.lang === 'ru' ? 'ru' : 'en',
      { middleware: stack.url, portal: stack.emulator.url, stats: stack.connector.ccdr ? `${stack.emulator.url}/lab/app?user=2&lang=${ctx.query.lang === 'en' ? 'en' : 'ru'}` : '' },
      {
        agents: agents.map((extension) => ({ extension, ready: site.readyExtensions.has(extension) })),
        latencyMs: stack.emulator.switches.latencyMs,
        outage: stack.emulator.switches.portal !== 'ok' ? (stack.emulator.switches.portal === 'deleted' ? 'deleted' : 'moved') : stack.emulator.switches.busy ? 'busy' : stack.emulator.switches.outage,
        csqStaffed: site.csqStaffed,
        snapshot: writer ? writer.enabled : null,
        oddities: {
          blocked: stack.emulator.switches.operatingLimited.has(BLOCKABLE),
          noLeads: stack.emulator.switches.leadCreation === 'disabled',
          reuse: stack.emulator.switches.reuseOpenCallId,
        },
        sides: stack.finesse?.twoSides ? { ...stack.finesse.inService } : null,
        pair: stack.pair ? { balancer: stack.pair.balancer.url, first: stack.connector.url, second: stack.pair.second.url } : null,
        pairMissing: stack.pairMissing,
      },
      stack.finesse ? stack.finesse.agents.map((a) => ({ label: `${a.name} (${a.extension})`, url: stack.finesse!.desktopUrl(a.id, { lang: ctx.query.lang === 'en' ? 'en' : 'ru' }) })) : [],
      stack.finesse?.xmpp ? STANDALONE_AGENTS.map(([agent, tr]) => ({ label: `${agent} · ${tr}`, url: stack.finesse!.standaloneUrl(agent, tr, { lang: ctx.query.lang === 'en' ? 'en' : 'ru' }) })) : [],
    );
  });
  router.get('/guide', (ctx) => {
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = readFileSync(join(__dirname, '../uccx-script-guide.md'), 'utf8');
  });
  router.post('/api/call', async (ctx) => {
    const ani = String((ctx.request.body as { ani?: unknown })?.ani ?? '');
    const trace = await runCallScript(ani, { middlewareUrl: stack.url, token: LAB_UCCX_TOKEN, timeoutMs: 3000, csq: 'Sales', voicemailPilot: '5999' }, site);
    calls.unshift(trace);
    const session = 500_000 + calls.length;
    const ringing = ringAgent(trace);
    if (!ringing && trace.outcome.kind === 'csq' && stack.finesse) {
      // Nobody Ready: the call waits in the CSQ (UCCX plays its queue music meanwhile).
      waiting.push({ trace, since: Date.now(), session });
      ctx.body = { ...trace, ringing: null, queued: { csq: trace.outcome.target, position: waiting.length } };
      return;
    }
    if (trace.outcome.kind === 'csq') counted(0, ringing ? 'handled' : 'abandoned');
    if (ccdr) recordCall(ccdr.db, trace, ringing ? stack.finesse!.agents.find((a) => a.id === ringing.agent)!.extension : null, session);
    ctx.body = { ...trace, ringing };
  });
  // Finesse's real flows, played at agent 1001 (extension 1021) with the number typed on the lab page.
  router.post('/api/finesse-scenario', (ctx) => {
    const f = stack.finesse;
    if (!f) {
      ctx.status = 404;
      ctx.body = { error: 'the lab runs without its Finesse side' };
      return;
    }
    const b = (ctx.request.body ?? {}) as { scenario?: unknown; number?: unknown };
    const number = String(b.number ?? '').replace(/[^\d+]/g, '') || '89123456789';
    const answered = () => f.ring('1021', number, { answerAfterMs: 300, talkMs: 120_000 });
    /** Ivan answers; two seconds later, while the call is still his, `then` happens to it. */
    const answeredThen = (then: () => unknown) => {
      const id = answered();
      const timer = setTimeout(() => f.liveDialogs('1001').some((d) => d.id === id && d.state === 'ACTIVE') && then(), 2000);
      timer.unref();
      return id;
    };
    const consultLater = (complete: 'transfer' | 'conference') => answeredThen(() => f.consult('1021', '1022', complete, 1500));
    const flows = new ContactCenterFlows(f);
    const scenarios: Record<string, () => string> = {
      preroute: () => f.ring('1021', number, { callType: 'PREROUTE_ACD_IN', answerAfterMs: 3000, talkMs: 10_000 }),
      withheld: () => f.ring('1021', '', { withheld: true, answerAfterMs: 3000, talkMs: 10_000 }),
      rona: () => f.ring('1021', number, { answerAfterMs: null, ringMs: 8000 }),
      transfer: () => consultLater('transfer'),
      conference: () => consultLater('conference'),
      outbound: () => f.dialOut(f.agents[0]!, number),
      blind: () => answeredThen(() => flows.blindTransfer('1021', '1022')),
      barge: () => answeredThen(() => flows.supervise('1022', '1021', 'barge')),
      intercept: () => answeredThen(() => flows.supervise('1022', '1021', 'intercept')),
      assist: () => flows.callSupervisor('1021', '1022', 'ASSIST'),
      emergency: () => flows.callSupervisor('1021', '1022', 'EMERGENCY'),
      campaign: () => flows.previewCampaign('1021', number),
      chat: () => flows.chat('1021'),
    };
    const run = scenarios[String(b.scenario)];
    if (!run) {
      ctx.status = 400;
      ctx.body = { error: `unknown scenario; one of ${Object.keys(scenarios).join(', ')}` };
      return;
    }
    ctx.body = { dialogId: run() };
  });
  // Finesse side A/B: the side in service fails over; the other comes into service after the delay chosen.
  router.get('/api/finesse-sides', (ctx) => {
    ctx.body = stack.finesse?.twoSides ? { ...stack.finesse.inService } : { error: 'the lab runs one Finesse side' };
  });
  router.post('/api/finesse-failover', (ctx) => {
    const f = stack.finesse;
    if (!f?.twoSides) {
      ctx.status = 409;
      ctx.body = { error: 'the lab runs one Finesse side' };
      return;
    }
    const delayMs = Number((ctx.request.body as { delayMs?: unknown })?.delayMs ?? 5000);
    if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > 600_000) {
      ctx.status = 400;
      ctx.body = { error: 'delayMs: a whole number of milliseconds from 0 to 600000' };
      return;
    }
    f.failover(delayMs);
    ctx.body = { ...f.inService };
  });
  // The middleware pair: node 1 runs in the lab's process, node 2 is its own process (start it, kill it -9).
  const nodeState = async () => {
    const p = stack.pair;
    if (!p) return { pair: false, why: stack.pairMissing };
    const ready = (url: string) =>
      fetch(`${url}/readyz/node`, { signal: AbortSignal.timeout(3000) }).then(
        (r) => r.ok,
        () => false,
      );
    return {
      pair: true,
      balancer: p.balancer.url,
      nodes: [
        { name: 'node 1', url: stack.connector.url, running: true, ready: await ready(stack.connector.url) },
        { name: 'node 2', url: p.second.url, running: p.second.running, ready: p.second.running && (await ready(p.second.url)) },
      ],
    };
  };
  router.get('/api/nodes', async (ctx) => {
    ctx.body = await nodeState();
  });
  router.post('/api/nodes/second', async (ctx) => {
    const p = stack.pair;
    const action = (ctx.request.body as { action?: unknown })?.action;
    if (!p) {
      ctx.status = 409;
      ctx.body = { error: `the lab runs one middleware node: ${stack.pairMissing}` };
      return;
    }
    if (action !== 'start' && action !== 'kill') {
      ctx.status = 400;
      ctx.body = { error: 'action: "start" or "kill"' };
      return;
    }
    try {
      if (action === 'start') await p.second.start();
      else await p.second.kill();
    } catch (err) {
      ctx.status = 500;
      ctx.body = { error: (err as Error).message };
      return;
    }
    ctx.body = await nodeState();
  });
  router.post('/api/switches', (ctx) => {
    const b = (ctx.request.body ?? {}) as {
      latencyMs?: number;
      outage?: string;
      ready?: string[];
      csqStaffed?: boolean;
      snapshot?: boolean;
      oddities?: { blocked?: unknown; noLeads?: unknown; reuse?: unknown };
    };
    const sw = stack.emulator.switches;
    if (typeof b.latencyMs === 'number') sw.latencyMs = b.latencyMs;
    if (b.outage === 'none' || b.outage === 'hang' || b.outage === 'error' || b.outage === 'busy' || b.outage === 'deleted' || b.outage === 'moved') {
      sw.busy = b.outage === 'busy';
      sw.portal = b.outage === 'deleted' || b.outage === 'moved' ? b.outage : 'ok';
      sw.outage = b.outage === 'hang' || b.outage === 'error' ? b.outage : 'none';
      if (sw.outage === 'none') stack.emulator.release();
    }
    if (Array.isArray(b.ready)) {
      site.readyExtensions = new Set(b.ready.map(String));
      syncFinesse();
    }
    if (typeof b.csqStaffed === 'boolean') site.csqStaffed = b.csqStaffed;
    if (typeof b.snapshot === 'boolean' && writer) writer.enabled = b.snapshot;
    deliver();
    const odd = b.oddities;
    if (odd && typeof odd === 'object') {
      if (odd.blocked === true) sw.operatingLimited.add(BLOCKABLE);
      else if (odd.blocked === false) sw.operatingLimited.delete(BLOCKABLE);
      if (typeof odd.noLeads === 'boolean') sw.leadCreation = odd.noLeads ? 'disabled' : 'on';
      if (typeof odd.reuse === 'boolean') sw.reuseOpenCallId = odd.reuse;
    }
    ctx.body = { ok: true };
  });
  // Fills the month before the oldest records with generated calls (the page's "fill a month" button).
  router.post('/api/fill-month', (ctx) => {
    if (!ccdr) {
      ctx.status = 409;
      ctx.body = { error: 'no call records in this lab' };
      return;
    }
    const zone = stack.connector.config.stats.timeZone;
    const oldest = (ccdr.db.prepare('SELECT MIN(startdatetime) AS t FROM contactcalldetail').get() as { t: string | null }).t;
    const end = oldest ? moment.utc(oldest, UTC_TEXT).tz(zone).startOf('day') : moment.tz(zone).startOf('day');
    const from = end.clone().subtract(1, 'month');
    const first = (ccdr.db.prepare('SELECT COALESCE(MAX(sessionid), 0) AS s FROM contactcalldetail').get() as { s: number }).s + 1;
    const n = generateCalls(ccdr.db, { from: from.format('YYYY-MM-DD'), days: end.diff(from, 'days'), timeZone: zone, callsPerDay: 250, seed: first, firstSession: first });
    ctx.body = { added: n, from: from.format('YYYY-MM-DD'), to: end.clone().subtract(1, 'day').format('YYYY-MM-DD') };
  });
  router.get('/api/calls', (ctx) => {
    ctx.body = calls;
  });
  router.get('/api/queue', (ctx) => {
    ctx.body = { waiting: waiting.map((w) => ({ ani: w.trace.ani, waitedSeconds: Math.round((Date.now() - w.since) / 1000) })), snapshot: writer ? writer.enabled : null };
  });
  const app = new Koa();
  app.use(bodyParser()).use(router.routes()).use(router.allowedMethods());
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  server.on('close', () => {
    writer?.stop();
    void ccdr?.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, calls };
}

import Koa from 'koa';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TimerSet } from '../../../protocol/timer-set';
import { apiErrors, dialogUpdate, updateXml, type DialogSpec } from './finesse-xml';
import type { ProsodyServer } from './prosody';
import type { PubsubPublisher } from './pubsub-publisher';
import { SideProxy } from './side-proxy';
import { consult, dialOut, ring } from './call-scenarios';
import { desktopHostRoutes } from './routes/desktop-host';
import { restApiRoutes } from './routes/rest-api';

/** The two Finesse nodes of a UCCX HA pair; only one is IN_SERVICE at a time. */
export type SideName = 'A' | 'B';

/**
 * The Finesse side of the lab (Cisco Finesse developer guide: the call lifecycle, the REST API): agents, dialogs with the documented incoming-call
 * lifecycle published as <Update>s to each agent's node, GET User/{id}/Dialogs, and a desktop page that hosts the
 * real gadget in a cross-origin iframe and relays notifications over a hub the way the Finesse desktop does.
 */
export interface LabAgent {
  id: string;
  extension: string;
  name: string;
  password: string;
}

export const LAB_AGENTS: LabAgent[] = [
  { id: '1001', extension: '1021', name: 'Ivan Petrov', password: 'lab' },
  { id: '1002', extension: '1022', name: 'Maria Sidorova', password: 'lab' },
  { id: '1003', extension: '1023', name: 'Oleg Uvolennyi', password: 'lab' },
];

/** A Finesse administrator of the lab: may read any User, may not act as an agent. */
export const LAB_ADMIN = { id: 'admin', password: 'lab' };

export interface RingOptions {
  vars?: Record<string, string>;
  /** UCCX/UCCE call type: ACD_IN (default), PREROUTE_ACD_IN (after an IVR), OTHER_IN, TRANSFER… */
  callType?: string;
  /** The caller withheld the number: empty fromAddress, and Finesse lists only the agent's leg. */
  withheld?: boolean;
  /** Answer after this many ms; null: nobody answers (ring no answer after `ringMs`). */
  answerAfterMs?: number | null;
  talkMs?: number;
  ringMs?: number;
}

/** How the far end of an outbound call behaves (Finesse developer guide: an outbound call's lifecycle). */
export interface OutboundScript {
  answerAfterMs: number;
  talkMs: number;
  ringMs: number;
  /** Dialled strings that are busy / never answer. */
  busy: Set<string>;
  noAnswer: Set<string>;
  /** Dialled strings that fail before the call leaves the switch (no trunk, bad number): FAILED while AGENT_INSIDE. */
  unreachable?: Set<string>;
  /** Dialled strings whose MAKE_CALL fails in CTI: 202, then an asynchronous <apiErrors> on the Dialogs node. */
  ctiError?: Set<string>;
}

export type Listener = (event: { node: string; content: string } | { connection: string } | { state: string } | { sides: Record<SideName, boolean> }) => void;

/** An error answer of Finesse's REST API (the documented <ApiErrors> body). */
export function apiFail(ctx: Koa.Context, status: number, type: string, message: string, data = ''): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = apiErrors(type, message, data);
}

export class FinesseEmulator {
  private server: http.Server | null = null;
  private nextId = 16777300;
  /** Live dialogs per agent (agent id → dialog id → dialog). */
  readonly live = new Map<string, Map<string, DialogSpec>>();
  /** The desktops' event streams per agent (the lab's stand-in for the desktop's notification relay). */
  readonly listeners = new Map<string, Set<Listener>>();
  private readonly down = new Set<string>();
  private readonly timers = new TimerSet();
  /** Every Update published, per agent: what the agent's desktop would have received. */
  readonly published: Array<{ agent: string; content: string }> = [];

  /** The notification service on Prosody, when the lab runs one: every Update is published there too. */
  xmpp: { server: ProsodyServer; publisher: PubsubPublisher } | null = null;

  /** Agent states (User.state); agents start NOT_READY, as after sign-in. */
  readonly states = new Map<string, string>();
  private readonly beforeTalk = new Map<string, string>();
  /** Told of every state change (the lab's UCCX simulator routes only to READY agents). */
  onState: ((agentId: string, state: string) => void) | null = null;
  /** Every MAKE_CALL accepted, for the tests and the benchmark. */
  readonly makeCalls: Array<{ agent: string; toAddress: string; at: number; side: SideName }> = [];
  /** GET User/{id} requests received: each is an authentication Finesse makes (a sign-in check). */
  userReads = 0;
  outbound: OutboundScript = { answerAfterMs: 1000, talkMs: 4000, ringMs: 10_000, busy: new Set(), noAnswer: new Set() };

  /** Side B (a second port on the same state), once started: `startSideB()`. */
  private sideB: http.Server | null = null;
  private handler: http.RequestListener | null = null;
  readonly inService: Record<SideName, boolean> = { A: true, B: false };
  /** Each side's notification service (a relay to the lab's Prosody that fails with its side). */
  private readonly proxies = new Map<SideName, SideProxy>();
  private readonly sideTimers = new TimerSet();
  /** Told when a side goes in or out of service (the lab page, the benchmark). */
  onSide: ((side: SideName, inService: boolean) => void) | null = null;

  /** What the desktop puts in the gadget URL; set once the middleware is up (it needs our origin first). */
  config = { middlewareUrl: '', crmUrl: '' };

  constructor(
    readonly gadgetDir: string,
    readonly agents: LabAgent[] = LAB_AGENTS,
  ) {}

  get url(): string {
    const a = this.server?.address() as AddressInfo | undefined;
    if (!a) throw new Error('Finesse emulator not started');
    return `http://127.0.0.1:${a.port}`;
  }
  /** The same server under another host name: the gadget's origin differs from the desktop's, as with Shindig. */
  get gadgetOrigin(): string {
    return this.gadgetOriginOf('A');
  }

  gadgetOriginOf(side: SideName): string {
    return this.sideUrl(side).replace('127.0.0.1', 'localhost');
  }

  get urlB(): string {
    const a = this.sideB?.address() as AddressInfo | undefined;
    if (!a) throw new Error('Finesse side B not started');
    return `http://127.0.0.1:${a.port}`;
  }

  get twoSides(): boolean {
    return this.sideB !== null;
  }

  sideUrl(side: SideName): string {
    return side === 'A' ? this.url : this.urlB;
  }

  /** Side B on a port of its own, sharing the agents and dialogs; with the lab's Prosody, a relay per side. */
  async startSideB(port = 0): Promise<string> {
    if (!this.handler) throw new Error('start side A first');
    this.sideB = http.createServer(this.handler);
    await new Promise<void>((resolve, reject) => {
      this.sideB!.once('error', reject);
      this.sideB!.listen(port, '127.0.0.1', resolve);
    });
    if (this.xmpp) {
      for (const side of ['A', 'B'] as const) {
        const proxy = new SideProxy(this.xmpp.server.httpPort);
        await proxy.start();
        this.proxies.set(side, proxy);
      }
      this.proxies.get('B')!.cut(); // B is the standby: not in service
    }
    return this.urlB;
  }

  /** A side's notification service: its relay when the lab runs two sides, else Prosody itself. */
  xmppUrl(side: SideName, transport: 'websocket' | 'bosh'): string {
    if (!this.xmpp) throw new Error('no lab Prosody');
    const direct = transport === 'websocket' ? this.xmpp.server.websocketUrl : this.xmpp.server.boshUrl;
    const proxy = this.proxies.get(side);
    return proxy ? direct.replace(/:\d+\//, `:${proxy.port}/`) : direct;
  }

  /**
   * Fails the side in service over: it goes out of service at once (its notification connections dropped, its REST
   * answering 503), the other comes into service `delayMs` later — Cisco documents up to 150 s in production.
   */
  failover(delayMs: number): { from: SideName; to: SideName } {
    if (!this.sideB) throw new Error('failover needs side B (startSideB)');
    const from: SideName = this.inService.A ? 'A' : 'B';
    const to: SideName = from === 'A' ? 'B' : 'A';
    this.sideTimers.clear();
    this.setSide(from, false);
    this.sideTimers.later(delayMs, () => this.setSide(to, true));
    return { from, to };
  }

  /** One side in or out of service now (a failover does both, with its delay between). */
  setSide(side: SideName, up: boolean): void {
    this.inService[side] = up;
    const proxy = this.proxies.get(side);
    if (up) proxy?.restore();
    else proxy?.cut();
    this.onSide?.(side, up);
    // The desktops hear it (a real desktop sees its side fail and moves to the other once that one is in service).
    for (const set of this.listeners.values()) for (const l of set) l({ sides: { ...this.inService } });
  }

  sideOf(req: http.IncomingMessage): SideName {
    const b = this.sideB?.address() as AddressInfo | undefined;
    return b && req.socket.localPort === b.port ? 'B' : 'A';
  }

  /** GET /finesse/api/SystemInfo as Cisco documents it (conformance/finesse/cisco-docs/systeminfo-structure.xml). */
  systemInfoXml(side: SideName): string {
    const node = (url: string) => `<host>127.0.0.1</host><httpsPort>${new URL(url).port}</httpsPort>`;
    const domain = this.xmpp?.server.domain ?? 'finesse.lab';
    return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><SystemInfo><currentTimestamp>${new Date().toISOString()}</currentTimestamp><deploymentType>UCCX</deploymentType><primaryNode>${node(this.url)}</primaryNode>${this.sideB ? `<secondaryNode>${node(this.urlB)}</secondaryNode>` : ''}<status>${this.inService[side] ? 'IN_SERVICE' : 'OUT_OF_SERVICE'}</status><systemAuthMode>NON_SSO</systemAuthMode><uri>/finesse/api/SystemInfo</uri><xmppDomain>${domain}</xmppDomain><xmppPubSubDomain>pubsub.${domain}</xmppPubSubDomain></SystemInfo>`;
  }

  agentByExtension(ext: string): LabAgent | undefined {
    return this.agents.find((a) => a.extension === ext);
  }

  /** The standalone page for an agent, with its own XMPP session over WebSocket or BOSH. */
  standaloneUrl(agentId: string, transport: 'websocket' | 'bosh', params: Record<string, string> = {}): string {
    const agent = this.agents.find((a) => a.id === agentId);
    if (!agent || !this.xmpp) throw new Error('standalone needs a lab agent and the lab Prosody');
    const q = new URLSearchParams({
      agent: agent.id,
      password: agent.password,
      extension: agent.extension,
      domain: this.xmpp.server.domain,
      xmpp: this.xmppUrl('A', transport),
      finesse: this.url,
      ...(this.sideB ? { xmpp2: this.xmppUrl('B', transport), finesse2: this.urlB } : {}),
      middleware: this.config.middlewareUrl,
      crm: this.config.crmUrl,
      ...params,
    });
    return `${this.url}/3rdpartygadget/files/fb24/standalone.html?${q}`;
  }

  desktopUrl(agentId: string, params: Record<string, string> = {}): string {
    return `${this.url}/desktop?${new URLSearchParams({ agent: agentId, ...params })}`;
  }

  /** Publishes an Update (or any text, to test robustness) on one of the agent's nodes (his Dialogs by default). */
  publish(agentId: string, content: string, node = `/finesse/api/User/${agentId}/Dialogs`): void {
    this.published.push({ agent: agentId, content });
    if (node.endsWith('/Dialogs')) this.xmpp?.publisher.publish(agentId, content);
    if (this.down.has(agentId)) return; // the agent's notification channel is down: the event is lost
    for (const l of this.listeners.get(agentId) ?? []) l({ node, content });
  }

  /** Changes the agent's state (as PUT User does), publishes the User PUT on his User node and shows it. */
  setState(agentId: string, state: string): void {
    this.states.set(agentId, state);
    this.onState?.(agentId, state);
    const agent = this.agents.find((a) => a.id === agentId);
    if (agent)
      this.publish(
        agentId,
        updateXml(
          'PUT',
          `/finesse/api/User/${agentId}`,
          this.userXml(agent)
            .replace(/^<User>/, '<user>')
            .replace(/<\/User>$/, '</user>'),
        ),
        `/finesse/api/User/${agentId}`,
      );
    for (const l of this.listeners.get(agentId) ?? []) l({ state });
  }

  /** Cuts or restores the agent's notification channel; the desktop reports it on finesse.info.connection. */
  setLink(agentId: string, up: boolean): void {
    if (up) this.down.delete(agentId);
    else this.down.add(agentId);
    for (const l of this.listeners.get(agentId) ?? []) l({ connection: up ? 'recovered' : 'reconnecting' });
  }

  /** Hangs up every live call now (DROPPED, DELETE) and cancels their scheduled steps. */
  endAll(): void {
    this.timers.clear();
    for (const agent of this.agents) {
      for (const d of this.liveDialogs(agent.id)) this.hangUp(agent, d);
    }
  }

  /** The call is over: PUT DROPPED (every participant dropped, no actions left, causes kept), then DELETE. */
  hangUp(agent: LabAgent, d: DialogSpec): void {
    const dropped = { ...d, state: 'DROPPED', participants: (d.participants ?? []).map((p) => ({ ...p, state: 'DROPPED', actions: [] })) };
    this.put(agent, dropped, 'PUT');
    this.put(agent, dropped, 'DELETE');
  }

  /** A dialog step shown on the desktop of the agent with this extension (for the scripted flows of contact-center-flows.ts). */
  show(extension: string, d: DialogSpec, event: 'POST' | 'PUT'): void {
    const agent = this.agentByExtension(extension);
    if (!agent) throw new Error(`no lab agent with extension ${extension}`);
    this.put(agent, d, event);
  }

  /** The dialog is over for the agent with this extension: PUT DROPPED, DELETE. */
  drop(extension: string, d: DialogSpec): void {
    const agent = this.agentByExtension(extension);
    if (agent) this.hangUp(agent, d);
  }

  /** Runs `fn` after `ms`, cancelled with the calls by endAll(). */
  later(ms: number, fn: () => void): void {
    this.timers.later(ms, fn);
  }

  /** A fresh dialog id, as Finesse's CTI call ids go. */
  newDialogId(): string {
    return String(++this.nextId);
  }

  liveDialogs(agentId: string): DialogSpec[] {
    return [...(this.live.get(agentId)?.values() ?? [])];
  }

  /** One step of a dialog on the agent's desktop (POST, PUT, DELETE), with the User state following his calls. */
  put(agent: LabAgent, d: DialogSpec, event: 'POST' | 'PUT' | 'DELETE'): void {
    const dialogs = this.live.get(agent.id) ?? new Map<string, DialogSpec>();
    this.live.set(agent.id, dialogs);
    // A scripted step of a call the agent already hung up (PUT Dialog DROP) does not bring it back.
    if (event !== 'POST' && !dialogs.has(d.id)) return;
    if (event === 'DELETE') dialogs.delete(d.id);
    else dialogs.set(d.id, d);
    this.publish(agent.id, dialogUpdate(agent.id, event, d));
    // The User state follows the calls: TALKING while the agent's leg is active, back to where he was after.
    const talking = [...dialogs.values()].some((x) => (x.participants ?? []).some((p) => p.address === agent.extension && p.state === 'ACTIVE') && x.state === 'ACTIVE');
    const now = this.states.get(agent.id) ?? 'NOT_READY';
    if (talking && now !== 'TALKING') {
      this.beforeTalk.set(agent.id, now);
      this.setState(agent.id, 'TALKING');
    } else if (!talking && now === 'TALKING') {
      this.setState(agent.id, this.beforeTalk.get(agent.id) ?? 'NOT_READY');
    }
  }

  /** An inbound call rings at the agent with this extension (call-scenarios.ts). */
  ring(extension: string, caller: string, o: RingOptions = {}): string {
    return ring(this, extension, caller, o);
  }

  /** MAKE_CALL accepted: the outbound call's steps as UCCX shows them (call-scenarios.ts). */
  dialOut(agent: LabAgent, toAddress: string, requestId = ''): string {
    return dialOut(this, agent, toAddress, requestId);
  }

  /** A consult from one agent to another, completed as a transfer or a conference (call-scenarios.ts). */
  consult(fromExt: string, toExt: string, complete: 'transfer' | 'conference', stepMs = 100): string {
    return consult(this, fromExt, toExt, complete, stepMs);
  }

  /** The agent behind Basic credentials, or null (Finesse developer guide: authentication). */
  signedIn(authorization: string): LabAgent | null {
    const [user, pass] = Buffer.from((/^Basic (.+)$/.exec(authorization) ?? [])[1] ?? '', 'base64')
      .toString()
      .split(':');
    return this.agents.find((a) => a.id === user && a.password === pass) ?? null;
  }

  userXml(agent: LabAgent): string {
    const [first, last] = agent.name.split(' ');
    return `<User><dialogs>/finesse/api/User/${agent.id}/Dialogs</dialogs><extension>${agent.extension}</extension><firstName>${first}</firstName><lastName>${last ?? ''}</lastName><loginId>${agent.id}</loginId><loginName>${agent.name.toLowerCase().replace(/\s+/g, '.')}</loginName><mediaType>1</mediaType><pendingState/><roles><role>Agent</role></roles><state>${this.states.get(agent.id) ?? 'NOT_READY'}</state><stateChangeTime>2026-11-26T10:00:00.000Z</stateChangeTime><teamId>5000</teamId><teamName>Sales</teamName><uri>/finesse/api/User/${agent.id}</uri></User>`;
  }

  async start(port = 0): Promise<string> {
    const app = new Koa();
    app.use(async (ctx, next) => {
      // The gadget (other origin) reads Finesse REST like in the desktop, where both share one origin.
      ctx.set('Access-Control-Allow-Origin', ctx.get('origin') || '*');
      ctx.set('Access-Control-Allow-Headers', 'authorization, accept, content-type, requestid');
      ctx.set('Access-Control-Allow-Methods', 'GET, POST, PUT');
      if (ctx.method === 'OPTIONS') {
        ctx.status = 204;
        return;
      }
      await next();
    });
    app.use(async (ctx, next) => {
      // A side out of service answers 503 to normal operations (Cisco: SystemInfo.Statuses); SystemInfo still answers.
      const side = this.sideOf(ctx.req);
      if (!this.inService[side] && ctx.path.startsWith('/finesse/api/') && ctx.path !== '/finesse/api/SystemInfo') {
        return apiFail(ctx, 503, 'Service Unavailable', `Finesse side ${side} is not in service`);
      }
      await next();
    });
    // The route groups, one module each: Finesse's REST API and the desktop host (desktop, Shindig, gadget files, the lab's event stream).
    for (const group of [restApiRoutes(this), desktopHostRoutes(this)]) app.use(group.routes()).use(group.allowedMethods());
    this.handler = app.callback();
    this.server = http.createServer(this.handler);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    return this.url;
  }

  async stop(): Promise<void> {
    this.sideTimers.clear();
    for (const p of this.proxies.values()) await p.stop();
    const b = this.sideB;
    this.sideB = null;
    if (b) {
      b.closeAllConnections();
      await new Promise<void>((r) => b.close(() => r()));
    }
    await this.xmpp?.publisher.stop();
    await this.xmpp?.server.dispose();
    this.timers.clear();
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }
}

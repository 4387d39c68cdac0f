import Router from '@koa/router';
import Koa from 'koa';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { TimerSet } from '../../../protocol/timer-set';
import { apiErrors, dialogUpdate, dialogXml, ringing, updateXml, type DialogSpec } from './finesse-xml';
import { renderDesktop, SHINDIG_STANDIN } from './desktop-page';
import { gadgetInstances } from './shipped-layout';
import type { ProsodyServer } from './prosody';
import type { PubsubPublisher } from './pubsub-publisher';
import { SideProxy } from './side-proxy';

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

type Listener = (event: { node: string; content: string } | { connection: string } | { state: string } | { sides: Record<SideName, boolean> }) => void;

export class FinesseEmulator {
  private server: http.Server | null = null;
  private nextId = 16777300;
  private readonly live = new Map<string, Map<string, DialogSpec>>(); // agent id → dialogs
  private readonly listeners = new Map<string, Set<Listener>>();
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

  private sideOf(req: http.IncomingMessage): SideName {
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
  private hangUp(agent: LabAgent, d: DialogSpec): void {
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

  private put(agent: LabAgent, d: DialogSpec, event: 'POST' | 'PUT' | 'DELETE'): void {
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

  /**
   * An inbound call rings at the agent with this extension: POST ALERTING, PUT ACTIVE, PUT DROPPED, DELETE. Not
   * answered within `ringMs`: ring no answer (DROPPED, DELETE, and UCCX sets the agent Not Ready).
   */
  ring(extension: string, caller: string, o: RingOptions = {}): string {
    const agent = this.agentByExtension(extension);
    if (!agent) throw new Error(`no lab agent with extension ${extension}`);
    const id = String(++this.nextId);
    const parts = (agentState: string, callerState: string) => [
      { address: agent.extension, type: 'AGENT_DEVICE', state: agentState },
      ...(o.withheld ? [] : [{ address: caller, state: callerState }]),
    ];
    const base = { ...ringing(agent.extension, id, o.withheld ? '' : caller, o.vars ?? {}), callType: o.callType ?? 'ACD_IN' };
    this.put(agent, { ...base, state: 'ALERTING', participants: parts('ALERTING', 'INITIATED') }, 'POST');
    const end = () => this.hangUp(agent, { ...base, state: 'DROPPED', participants: parts('DROPPED', 'DROPPED') });
    const answerAfter = o.answerAfterMs === undefined ? 1500 : o.answerAfterMs;
    if (answerAfter === null)
      this.timers.later(o.ringMs ?? 10_000, () => {
        const live = this.live.get(agent.id)?.get(id);
        if (!live || live.state !== 'ALERTING') return; // answered from the desktop meanwhile
        end();
        this.setState(agent.id, 'NOT_READY'); // RONA
      });
    else
      this.timers.later(answerAfter, () => {
        this.put(agent, { ...base, state: 'ACTIVE', participants: parts('ACTIVE', 'ACTIVE') }, 'PUT');
        this.timers.later(o.talkMs ?? 20_000, end);
      });
    return id;
  }

  /**
   * MAKE_CALL accepted, as UCCX shows a call the agent places: POST INITIATING (only his leg, no toAddress), PUT
   * INITIATED — AGENT_INSIDE while the call is inside the switch — then, once it leaves, reclassified OUT: ALERTING
   * → ACTIVE → DROPPED, or FAILED (busy). A number that fails before leaving the switch stays AGENT_INSIDE.
   */
  dialOut(agent: LabAgent, toAddress: string, requestId = ''): string {
    const id = String(++this.nextId);
    const o = this.outbound;
    const mine = { address: agent.extension, type: 'AGENT_DEVICE' };
    const step = (state: string, callType: string, me: string, far: string | null, cause?: string): DialogSpec => ({
      id,
      state,
      from: agent.extension,
      to: far === null ? '' : toAddress,
      callType,
      participants: [{ ...mine, state: me, cause }, ...(far === null ? [] : [{ address: toAddress, state: far }])],
    });
    this.put(agent, step('INITIATING', 'AGENT_INSIDE', 'INITIATING', null), 'POST');
    if (o.ctiError?.has(toAddress)) {
      // CTI refuses the call: the asynchronous error on the Dialogs node (Cisco's documented sample), then the dialog goes.
      this.timers.later(20, () => {
        this.publish(
          agent.id,
          updateXml(
            'PUT',
            `/finesse/api/Dialog/${id}`,
            '<apiErrors><apiError><errorData>34</errorData><errorMessage>CF_RESOURCE_OUT_OF_SERVICE</errorMessage><errorType>Call Operation Failure</errorType></apiError></apiErrors>',
            requestId,
          ),
        );
        this.hangUp(agent, step('DROPPED', 'AGENT_INSIDE', 'DROPPED', null));
      });
      return id;
    }
    this.timers.later(20, () => {
      this.put(agent, step('INITIATED', 'AGENT_INSIDE', 'INITIATED', 'INITIATED'), 'PUT');
      if (o.unreachable?.has(toAddress)) {
        this.timers.later(100, () => {
          this.put(agent, step('FAILED', 'AGENT_INSIDE', 'FAILED', 'DROPPED', 'BAD_DESTINATION'), 'PUT');
          this.timers.later(200, () => this.hangUp(agent, step('DROPPED', 'AGENT_INSIDE', 'DROPPED', 'DROPPED', 'BAD_DESTINATION')));
        });
        return;
      }
      if (o.busy.has(toAddress)) {
        this.timers.later(200, () => {
          this.put(agent, step('FAILED', 'OUT', 'FAILED', 'DROPPED', 'BUSY'), 'PUT');
          this.timers.later(300, () => this.hangUp(agent, step('DROPPED', 'OUT', 'DROPPED', 'DROPPED', 'BUSY')));
        });
        return;
      }
      this.timers.later(100, () => {
        this.put(agent, step('ALERTING', 'OUT', 'ACTIVE', 'ALERTING'), 'PUT');
        if (o.noAnswer.has(toAddress)) {
          this.timers.later(o.ringMs, () => this.hangUp(agent, step('DROPPED', 'OUT', 'DROPPED', 'DROPPED')));
          return;
        }
        this.timers.later(o.answerAfterMs, () => {
          this.put(agent, step('ACTIVE', 'OUT', 'ACTIVE', 'ACTIVE'), 'PUT');
          this.timers.later(o.talkMs, () => this.hangUp(agent, step('DROPPED', 'OUT', 'DROPPED', 'DROPPED')));
        });
      });
    });
    return id;
  }

  /**
   * The agent on `fromExt` consults the agent on `toExt` about his live call and then transfers it or makes a
   * conference: the original call is held, a CONSULT dialog (associated with it) rings at both agents and is
   * answered; on transfer the first agent's dialogs end and the second's becomes the surviving call (TRANSFER, the
   * customer's numbers, the dropped call's id in secondaryId); on conference both see one CONFERENCE dialog.
   */
  consult(fromExt: string, toExt: string, complete: 'transfer' | 'conference', stepMs = 100): string {
    const a = this.agentByExtension(fromExt);
    const b = this.agentByExtension(toExt);
    const original = a && this.liveDialogs(a.id).find((d) => d.state === 'ACTIVE');
    if (!a || !b || !original) throw new Error(`consult: ${fromExt} has no active call, or ${toExt} is no lab agent`);
    const customer = (original.participants ?? []).find((p) => p.address !== a.extension);
    const id = String(++this.nextId);
    const legs = (aState: string, bState: string) => [
      { address: a.extension, type: 'AGENT_DEVICE', state: aState },
      { address: b.extension, type: 'AGENT_DEVICE', state: bState },
    ];
    const consult = (state: string, aState: string, bState: string): DialogSpec => ({
      id,
      state,
      from: a.extension,
      to: b.extension,
      dnis: b.extension,
      dialedNumber: b.extension,
      callType: 'CONSULT',
      associatedDialogUri: `/finesse/api/Dialog/${original.id}`,
      participants: legs(aState, bState),
    });
    const held = { ...original, participants: (original.participants ?? []).map((p) => (p.address === a.extension ? { ...p, state: 'HELD', actions: undefined } : p)) };
    this.put(a, held, 'PUT');
    this.put(a, consult('INITIATED', 'INITIATED', 'ALERTING'), 'POST');
    this.put(b, consult('ALERTING', 'INITIATED', 'ALERTING'), 'POST');
    this.timers.later(stepMs, () => {
      this.put(a, consult('ACTIVE', 'ACTIVE', 'ACTIVE'), 'PUT');
      this.put(b, consult('ACTIVE', 'ACTIVE', 'ACTIVE'), 'PUT');
      this.timers.later(stepMs, () => {
        const survivor = (callType: string, parts: DialogSpec['participants']): DialogSpec => ({
          ...original,
          id,
          callType,
          secondaryId: original.id,
          associatedDialogUri: '',
          dnis: b.extension,
          participants: parts,
        });
        const customerLeg = customer ? [{ ...customer, state: 'ACTIVE', actions: undefined }] : [];
        this.hangUp(a, held);
        if (complete === 'transfer') {
          this.hangUp(a, consult('DROPPED', 'DROPPED', 'ACTIVE'));
          this.put(b, survivor('TRANSFER', [{ address: b.extension, type: 'AGENT_DEVICE', state: 'ACTIVE' }, ...customerLeg]), 'PUT');
        } else {
          const all = [...legs('ACTIVE', 'ACTIVE'), ...customerLeg];
          this.put(a, survivor('CONFERENCE', all), 'PUT');
          this.put(b, survivor('CONFERENCE', all), 'PUT');
        }
      });
    });
    return id;
  }

  /** The agent behind Basic credentials, or null (Finesse developer guide: authentication). */
  private signedIn(authorization: string): LabAgent | null {
    const [user, pass] = Buffer.from((/^Basic (.+)$/.exec(authorization) ?? [])[1] ?? '', 'base64')
      .toString()
      .split(':');
    return this.agents.find((a) => a.id === user && a.password === pass) ?? null;
  }

  private userXml(agent: LabAgent): string {
    const [first, last] = agent.name.split(' ');
    return `<User><dialogs>/finesse/api/User/${agent.id}/Dialogs</dialogs><extension>${agent.extension}</extension><firstName>${first}</firstName><lastName>${last ?? ''}</lastName><loginId>${agent.id}</loginId><loginName>${agent.name.toLowerCase().replace(/\s+/g, '.')}</loginName><mediaType>1</mediaType><pendingState/><roles><role>Agent</role></roles><state>${this.states.get(agent.id) ?? 'NOT_READY'}</state><stateChangeTime>2026-11-26T10:00:00.000Z</stateChangeTime><teamId>5000</teamId><teamName>Sales</teamName><uri>/finesse/api/User/${agent.id}</uri></User>`;
  }

  async start(port = 0): Promise<string> {
    const router = new Router();
    const fail = (ctx: Koa.Context, status: number, type: string, message: string, data = '') => {
      ctx.status = status;
      ctx.type = 'application/xml';
      ctx.body = apiErrors(type, message, data);
    };
    /** The agent the request acts for ({id} in the URL), if the credentials are that agent's (else answered 401). */
    const actingAgent = (ctx: Koa.Context, id: string): LabAgent | null => {
      const me = this.signedIn(ctx.get('authorization'));
      if (!me) {
        fail(ctx, 401, 'Authorization Failure', 'Unauthorized', id);
        return null;
      }
      if (me.id !== id) {
        fail(ctx, 401, 'Invalid Authorization User Specified', 'The authenticated user and the user in the URI differ', me.id);
        return null;
      }
      return me;
    };
    const readBody = async (ctx: Koa.Context): Promise<string> => {
      const chunks: Buffer[] = [];
      for await (const c of ctx.req) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    };
    const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`, 'i').exec(xml)?.[1]?.trim();
    router.get('/finesse/api/SystemInfo', (ctx) => {
      ctx.type = 'application/xml';
      ctx.body = this.systemInfoXml(this.sideOf(ctx.req));
    });
    router.get('/finesse/api/User/:id', (ctx) => {
      this.userReads += 1;
      // Finesse lets an administrator read any User (Finesse developer guide, User — Get User): the lab's "admin" does.
      const [user, pass] = Buffer.from((/^Basic (.+)$/.exec(ctx.get('authorization')) ?? [])[1] ?? '', 'base64')
        .toString()
        .split(':');
      const read = user === LAB_ADMIN.id && pass === LAB_ADMIN.password ? this.agents.find((a) => a.id === ctx.params.id) : undefined;
      const agent = read ?? actingAgent(ctx, ctx.params.id!);
      if (!agent) return;
      ctx.type = 'application/xml';
      ctx.body = this.userXml(agent);
    });
    router.put('/finesse/api/User/:id', async (ctx) => {
      const agent = actingAgent(ctx, ctx.params.id!);
      if (!agent) return;
      const state = tag(await readBody(ctx), 'state') ?? '';
      if (!['READY', 'NOT_READY', 'LOGOUT'].includes(state)) return fail(ctx, 400, 'Invalid Input', `Invalid state: ${state}`);
      this.setState(agent.id, state);
      ctx.status = 202;
    });
    router.post('/finesse/api/User/:id/Dialogs', async (ctx) => {
      const agent = actingAgent(ctx, ctx.params.id!);
      if (!agent) return;
      const xml = await readBody(ctx);
      const action = tag(xml, 'requestedAction');
      const from = tag(xml, 'fromAddress');
      const to = tag(xml, 'toAddress');
      if (!action || !from || !to) return fail(ctx, 400, 'Parameter Missing', 'requestedAction, fromAddress and toAddress are required');
      if (action !== 'MAKE_CALL') return fail(ctx, 400, 'Invalid Input', `Invalid requestedAction: ${action}`);
      if (/<mediaProperties[\s/>]/i.test(xml)) return fail(ctx, 400, 'Invalid Input', 'mediaProperties are not supported on UCCX');
      if (from !== agent.extension) return fail(ctx, 400, 'Invalid Input', 'fromAddress is not the extension the user is signed in to');
      if (to === from) return fail(ctx, 400, 'Invalid Destination', 'toAddress equals fromAddress');
      // UCCX dials only from NOT_READY (Finesse developer guide, Make a Call; the exact error is undocumented).
      if ((this.states.get(agent.id) ?? 'NOT_READY') !== 'NOT_READY') return fail(ctx, 400, 'Invalid State', `Agent must be NOT_READY to make a call (is ${this.states.get(agent.id)})`);
      this.makeCalls.push({ agent: agent.id, toAddress: to, at: Date.now(), side: this.sideOf(ctx.req) });
      ctx.set('requestId', ctx.get('requestId'));
      ctx.status = 202;
      this.dialOut(agent, to, ctx.get('requestId'));
    });
    router.put('/finesse/api/Dialog/:id', async (ctx) => {
      const me = this.signedIn(ctx.get('authorization'));
      if (!me) return fail(ctx, 401, 'Authorization Failure', 'Unauthorized');
      const d = this.live.get(me.id)?.get(ctx.params.id!);
      if (!d) return fail(ctx, 404, 'Not Found', `Dialog ${ctx.params.id} not found`);
      const action = tag(await readBody(ctx), 'requestedAction');
      const mine = (d.participants ?? []).find((p) => p.address === me.extension);
      if (action === 'DROP' && mine && ['ACTIVE', 'INITIATED', 'ALERTING', 'FAILED', 'HELD'].includes(mine.state)) {
        ctx.status = 202;
        this.hangUp(me, d);
        return;
      }
      if (action === 'ANSWER' && mine?.state === 'ALERTING') {
        ctx.status = 202;
        this.put(me, { ...d, state: 'ACTIVE', participants: (d.participants ?? []).map((p) => ({ ...p, state: 'ACTIVE', actions: undefined })) }, 'PUT');
        return;
      }
      fail(ctx, 400, 'Invalid State', `${action ?? 'no action'} is not allowed in the participant's state`);
    });
    router.get('/desktop', (ctx) => {
      const agent = this.agents.find((a) => a.id === ctx.query.agent) ?? this.agents[0]!;
      const lang = ctx.query.lang === 'en' ? 'en' : 'ru';
      // Each side serves its own desktop and gadgets (Shindig on that node).
      const side = this.sideOf(ctx.req);
      const origin = this.gadgetOriginOf(side);
      // Our gadget as many times as the shipped layout places it, each with its own parameters; the lab's addresses
      // (and the desktop URL's own parameters, for tests) over them.
      const overrides = Object.fromEntries(
        Object.entries(ctx.query)
          .filter(([k]) => !['agent', 'lang'].includes(k))
          .map(([k, v]) => [k, String(v)]),
      );
      const frames = gadgetInstances('Agent').map((shipped) => {
        const gadget = new URL(`${origin}/3rdpartygadget/files/fb24/FinesseBitrix24.xml`);
        gadget.search = new URLSearchParams({ ...Object.fromEntries(shipped), middleware: this.config.middlewareUrl, crm: this.config.crmUrl, ...overrides }).toString();
        return `${origin}/gadgets/ifr?${new URLSearchParams({ url: gadget.toString(), agent: agent.id, lang })}`;
      });
      const other: SideName = side === 'A' ? 'B' : 'A';
      const alternate = this.sideB ? { side: other, url: `${this.sideUrl(other)}${ctx.url}` } : null;
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderDesktop(
        agent,
        lang,
        this.states.get(agent.id) ?? 'NOT_READY',
        this.liveDialogs(agent.id).map((d) => d.id),
        frames,
        { side, alternate },
      );
    });
    router.get('/lab/events', (ctx) => {
      const agentId = String(ctx.query.agent ?? '');
      ctx.request.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
      ctx.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      ctx.status = 200;
      const res = ctx.res;
      res.flushHeaders();
      res.write(': connected\n\n');
      // A desktop hears its own side: nothing of the calls while that side is out of service.
      const side = this.sideOf(ctx.req);
      const listener: Listener = (e) => {
        if ('node' in e && !this.inService[side]) return;
        res.write(`data: ${JSON.stringify(e)}\n\n`);
      };
      const set = this.listeners.get(agentId) ?? new Set();
      set.add(listener);
      this.listeners.set(agentId, set);
      ctx.respond = false;
      res.on('close', () => set.delete(listener));
    });
    // Shindig stand-in: renders the gadget XML's content with a hub client, as the desktop's container would.
    router.get('/gadgets/ifr', (ctx) => {
      const gadgetUrl = new URL(String(ctx.query.url ?? ''));
      const agent = this.agents.find((a) => a.id === ctx.query.agent) ?? this.agents[0]!;
      const xml = readFileSync(join(this.gadgetDir, 'FinesseBitrix24.xml'), 'utf8');
      const content = /<!\[CDATA\[([\s\S]*?)\]\]>/.exec(xml)?.[1] ?? '';
      const side = this.sideOf(ctx.req);
      const prefs = {
        id: agent.id,
        extension: agent.extension,
        authorization: Buffer.from(`${agent.id}:${agent.password}`).toString('base64'),
        locale: ctx.query.lang === 'en' ? 'en_US' : 'ru_RU',
        scheme: 'http',
        host: new URL(this.gadgetOriginOf(side)).hostname,
        hostPort: new URL(this.gadgetOriginOf(side)).port,
      };
      const base = new URL('.', gadgetUrl).toString();
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = `<!DOCTYPE html><html><head><base href="${base}"><script>window.__LAB_PREFS=${JSON.stringify(prefs)};window.__LAB_PARENT=${JSON.stringify(this.sideUrl(side))};</script><script>${SHINDIG_STANDIN}</script></head>${content.replace('<!DOCTYPE html>', '')}</html>`;
    });
    router.get('/3rdpartygadget/files/fb24/:file', (ctx) => {
      const file = normalize(String(ctx.params.file));
      const path = join(this.gadgetDir, file);
      if (file.includes('..') || !existsSync(path)) return;
      ctx.type = extname(path) === '.xml' ? 'application/xml' : extname(path);
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = readFileSync(path);
    });
    router.get('/finesse/api/User/:id/Dialogs', (ctx) => {
      const agent = actingAgent(ctx, ctx.params.id!);
      if (!agent) return;
      ctx.type = 'application/xml';
      ctx.body = `<Dialogs>${this.liveDialogs(agent.id)
        .map((d) => dialogXml(d))
        .join('')}</Dialogs>`;
    });
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
        return fail(ctx, 503, 'Service Unavailable', `Finesse side ${side} is not in service`);
      }
      await next();
    });
    app.use(router.routes()).use(router.allowedMethods());
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

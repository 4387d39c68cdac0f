import { AgentSession } from './agent-session';
import { CallJournal } from './call-journal';
import { CALL_TYPE_CLASSES, callTypeName } from './call-class';
import { Dialer, type DialCommand } from './dialer';
import { DialogTracker, type PopRequest, type Trigger } from './dialog-tracker';
import { ParseError, parseDialogList, parseUpdate, type FinesseUpdate, type XmlParser } from './finesse-update';
import type { GadgetView } from './gadget-view';
import type { Strings } from './i18n';
import type { NotificationSource } from './notification-source';
import { customerNumber, targetFromDialog, targetFromLookup, type LookupAnswer, type PopConfig, type Target } from './pop-target';
import { agentPath, LOOKUP_JSON_PATH, type GadgetEvent } from '../../protocol/agent-api';

/** Everything the gadget is told: by its URL parameters and prefs in the desktop, by URL parameters standalone. */
export interface GadgetSettings {
  agentId: string;
  extension: string;
  middlewareUrl: string;
  pop: PopConfig;
  trigger: Trigger;
  inbound: boolean;
  outbound: boolean;
  /** Finesse REST, to read live dialogs again after a reconnection, and to dial. */
  finesse: { baseUrl: string; authorization: string } | null;
  /** Session with the middleware for click-to-dial and call logging (needs `finesse`). */
  calls: boolean;
}

export interface GadgetDeps {
  parse: XmlParser;
  fetch: typeof fetch;
  openWindow: (url: string, name: string) => Window | null;
  storage: Pick<Storage, 'getItem' | 'setItem'> | null;
  log: (message: string, detail?: unknown) => void;
}

export const POP_WINDOW = 'fb24_crm';
/** How long a starting gadget waits for the middleware's list of dialogs already popped. */
const POPPED_WAIT_MS = 10_000;
/** At most this many of the gadget's errors are told to the middleware a minute (the console has them all). */
const ERRORS_PER_MINUTE = 10;

/** Wires a notification source to the tracker, resolves each pop's target and opens it (or offers a button). */
export class GadgetApp {
  private readonly tracker: DialogTracker;
  private readonly journal: CallJournal;
  private readonly poppedKey: string;
  /** The gadget's errors told to the middleware this minute (for the call traces; at most ERRORS_PER_MINUTE). */
  private errorsTold: number[] = [];
  /** Logs here (the browser console) and tells the middleware, so the error shows in the call's trace. */
  private readonly log = (m: string, d?: unknown): void => {
    this.deps.log(m, d);
    const now = Date.now();
    this.errorsTold = this.errorsTold.filter((t) => now - t < 60_000);
    if (!this.session || this.errorsTold.length >= ERRORS_PER_MINUTE) return;
    this.errorsTold.push(now);
    this.tell({ kind: 'error', message: m.slice(0, 300) });
  };

  /** A pop or an error for the call's trace: best effort, never retried (the trace is for people, not for the CRM). */
  private tell(event: GadgetEvent): void {
    this.session?.post(agentPath('events'), event).catch(() => undefined);
  }
  /** Click-to-dial and call logging, when the gadget knows the agent's Finesse authorization. */
  readonly session: AgentSession | null = null;
  private readonly dialer: Dialer | null = null;

  constructor(
    private readonly s: GadgetSettings,
    private readonly source: NotificationSource,
    private readonly view: GadgetView,
    private readonly t: Strings,
    private readonly deps: GadgetDeps,
  ) {
    this.poppedKey = `fb24.popped.${s.agentId}`;
    const before = (deps.storage?.getItem(this.poppedKey) ?? '').split(',').filter(Boolean);
    this.tracker = new DialogTracker({ agentExtension: s.extension, trigger: s.trigger, inbound: s.inbound, outbound: s.outbound, alreadyPopped: before });
    this.journal = new CallJournal({ agentExtension: s.extension, entityVariable: s.pop.entityVariable, internalMaxDigits: s.pop.internalMaxDigits });
    const f = s.finesse;
    if (f && s.calls) {
      // The settings' own object: when the standalone page moves to the other Finesse side, calls follow.
      this.dialer = new Dialer(Object.assign(f, { agentId: s.agentId }), deps.fetch, deps.parse);
      this.session = new AgentSession(
        { middlewareUrl: s.middlewareUrl, agentId: s.agentId, authorization: () => f.authorization },
        deps.fetch,
        {
          dial: (cmd) => void this.dial(cmd),
          online: (up, reason) => view.dialState(up ? 'online' : 'offline', up ? t.dialOnline : t.dialOffline, reason),
        },
        this.log,
      );
    }
  }

  /** A click in Bitrix24 reached us: dial as the agent, report the outcome (the middleware tells Bitrix24). */
  async dial(cmd: DialCommand): Promise<void> {
    this.view.dialState('dialing', this.t.dialing.replace('{n}', cmd.toAddress));
    const result = await this.dialer!.dial(cmd);
    if (result.ok && this.refusedByCti.delete(cmd.id)) {
      // CTI refused it before the 202 was read: the failure is shown and reported already.
    } else if (result.ok) this.view.dialState('dialled', this.t.dialled.replace('{n}', cmd.toAddress));
    else {
      const t = this.t;
      const why = result.code !== 'agent_busy' ? result.reason : result.state === 'READY' ? t.readyRefused : result.state === '' ? t.notSignedIn : t.inState.replace('{s}', result.state);
      this.view.dialState('failed', t.dialFailed.replace('{n}', cmd.toAddress).replace('{r}', why), result.reason);
    }
    try {
      const res = await this.session!.post(agentPath('dialResult'), { commandId: cmd.id, ...result });
      if (!res.ok) this.log(`dial result not taken: HTTP ${res.status}`);
    } catch (err) {
      this.log(`dial result not delivered: ${(err as Error).message}`);
    }
  }

  start(): void {
    this.session?.start();
    const begin = () => {
      if (this.stopped) return;
      this.source.start({
        update: (payload) => this.onUpdate(payload),
        invalid: (reason) => this.skipped(reason),
        state: (st) => this.view.state(st),
        resync: () => void this.resync(),
      });
      // A page (re)loaded mid-call picks the call up: its end will be logged and a missed pop offered.
      if (this.session) void this.resync();
    };
    if (!this.session) return begin();
    // What this agent's gadget popped on another origin — the desktop moved to the other Finesse side and loaded
    // the gadget afresh there, without this page's storage — is asked first: a call is never popped twice.
    void this.poppedElsewhere().finally(begin);
  }

  private stopped = false;

  private async poppedElsewhere(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const res = await Promise.race([
        this.session!.get(agentPath('popped')),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${POPPED_WAIT_MS / 1000} s`)), POPPED_WAIT_MS))),
      ]);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const b = (await res.json()) as { dialogIds?: unknown };
      if (Array.isArray(b.dialogIds)) this.tracker.markPopped(b.dialogIds.filter((id): id is string => typeof id === 'string'));
    } catch (err) {
      this.log(`popped dialogs not read from the middleware: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  stop(): void {
    this.stopped = true;
    this.source.stop();
    this.session?.stop();
    if (this.recheck) clearTimeout(this.recheck);
    this.recheck = null;
  }

  onUpdate(payload: string | Element): void {
    let pops: PopRequest[];
    try {
      const update = parseUpdate(payload, this.deps.parse);
      if (update.kind === 'dialogs') {
        this.noteCallTypes(update.dialogs);
        for (const set of this.freshDuringResync) for (const d of update.dialogs) set.add(d.id);
      }
      pops = this.tracker.apply(update);
      for (const r of this.journal.apply(update)) this.session?.report(r);
      if (update.kind === 'apiErrors') this.ctiError(update);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      return this.skipped(err.message);
    }
    for (const p of pops) void this.pop(p);
  }

  private readonly unknownCallTypes = new Set<string>();

  /** A call type not in Cisco's tables (call-class.ts) is logged once: it is not handled as a customer call. */
  private noteCallTypes(dialogs: Array<{ callType: string }>): void {
    for (const { callType } of dialogs) {
      const name = callTypeName(callType);
      if (name === '' || name in CALL_TYPE_CLASSES || this.unknownCallTypes.has(name) || this.unknownCallTypes.size > 20) continue;
      this.unknownCallTypes.add(name);
      this.log(`unknown Finesse call type ${name.slice(0, 40)}: not popped nor logged as a customer call`);
    }
  }

  /** Commands whose dial CTI refused (asynchronously), by command id. */
  private readonly refusedByCti = new Set<string>();

  /** An asynchronous CTI error about a call we placed (its requestId): that dial failed; Bitrix24 is told. */
  private ctiError(update: Extract<FinesseUpdate, { kind: 'apiErrors' }>): void {
    const dial = this.dialer?.claim(update.requestId);
    if (!dial) return;
    const dialogId = /\/Dialog\/([^/]+)$/.exec(update.source)?.[1] ?? `cti-${update.requestId}`.slice(0, 64);
    const cause = (update.errors[0] ?? '').trim();
    this.refusedByCti.add(dial.commandId);
    if (this.refusedByCti.size > 50) this.refusedByCti.delete(this.refusedByCti.values().next().value!);
    for (const r of this.journal.failedDial(dialogId, dial.toAddress, cause)) this.session?.report(r);
    this.view.dialState('failed', this.t.dialFailed.replace('{n}', dial.toAddress).replace('{r}', cause || 'CTI'), cause);
  }

  /** Malformed input is logged (one line, its size bounded) and dropped; the gadget keeps working. */
  private skipped(reason: string): void {
    this.log(`notification skipped: ${reason.slice(0, 200)}`);
    this.view.notice(this.t.malformed);
  }

  async resync(): Promise<void> {
    const f = this.s.finesse;
    if (!f) return;
    const fresh = new Set<string>();
    this.freshDuringResync.add(fresh);
    try {
      const res = await this.deps.fetch(`${f.baseUrl}/finesse/api/User/${encodeURIComponent(this.s.agentId)}/Dialogs`, {
        headers: { authorization: f.authorization, accept: 'application/xml' },
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const live = parseDialogList(await res.text(), this.deps.parse);
      for (const r of this.journal.resync(live, fresh)) this.session?.report(r);
      for (const p of this.tracker.resync(live, fresh)) void this.pop(p);
    } catch (err) {
      this.log(`resync failed: ${(err as Error).message}`);
    } finally {
      this.freshDuringResync.delete(fresh);
    }
  }

  private recheck: ReturnType<typeof setTimeout> | null = null;
  /** Per GET of live dialogs under way: the dialogs notifications told of meanwhile. */
  private readonly freshDuringResync = new Set<Set<string>>();

  /**
   * Chromium loses notifications that reach the gadget's frame in the moments after it calls window.open (seen with
   * the pop-up allowed and blocked alike): a call ringing right after another, or an answer, would be missed. So
   * after each pop the gadget reads the live dialogs once more — one GET, only when it popped.
   */
  private recheckSoon(): void {
    if (!this.s.finesse || this.recheck) return;
    this.recheck = setTimeout(() => {
      this.recheck = null;
      void this.resync();
    }, 400);
  }

  private remember(dialogId: string): void {
    try {
      const ids = (this.deps.storage?.getItem(this.poppedKey) ?? '').split(',').filter(Boolean);
      this.deps.storage?.setItem(this.poppedKey, [...ids, dialogId].slice(-50).join(','));
    } catch {
      // storage full or disabled: the in-memory tracker still guards this page
    }
    // And the middleware: a gadget loaded on another origin (the other Finesse side) asks it at start.
    this.session?.post(agentPath('popped'), { dialogId }).catch((err: Error) => this.log(`popped dialog not told to the middleware: ${err.message}`));
  }

  /** Asks the middleware who owns the number, over the agent's own session (no shared secret in the layout). */
  private async lookup(phone: string, dialog: PopRequest['dialog']): Promise<Target> {
    if (!this.session) return { kind: 'none', reason: 'lookup_failed' };
    try {
      const res = await this.session.get(`${LOOKUP_JSON_PATH}?phone=${encodeURIComponent(phone)}`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return targetFromLookup((await res.json()) as LookupAnswer, dialog, this.s.pop);
    } catch (err) {
      this.log(`lookup failed: ${(err as Error).message}`);
      return { kind: 'none', reason: 'lookup_failed' };
    }
  }

  private async showName(entry: Parameters<GadgetView['upsert']>[0], entity: { type: string; id: number }): Promise<void> {
    if (!this.session || entity.type === 'DEAL') return;
    try {
      const res = await this.session.get(`${agentPath('record')}?type=${entity.type}&id=${entity.id}`);
      const name = res.ok ? ((await res.json()) as { name?: unknown }).name : '';
      if (typeof name === 'string' && name) this.view.upsert({ ...entry, label: `${name} (${entity.type}:${entity.id})` });
    } catch (err) {
      this.log(`record name not read: ${(err as Error).message}`);
    }
  }

  async pop(p: PopRequest): Promise<void> {
    const d = p.dialog;
    this.remember(d.id);
    const base = { dialogId: d.id, direction: p.direction, phone: customerNumber(d, this.s.pop, this.s.extension), at: new Date() };
    let target = targetFromDialog(d, this.s.pop, this.s.extension);
    if (target.kind === 'lookup') {
      this.view.upsert({ ...base, note: this.t.lookingUp });
      target = await this.lookup(target.phone, d);
    }
    const told = { kind: 'pop' as const, dialogId: d.id, number: base.phone };
    if (target.kind === 'open') {
      const w = this.deps.openWindow(target.url, POP_WINDOW);
      this.recheckSoon();
      this.tell({ ...told, outcome: w ? 'opened' : 'blocked', target: target.entity ? `${target.entity.type}:${target.entity.id}` : 'script' });
      const entry = { ...base, url: target.url, label: target.label, blocked: !w };
      this.view.upsert(entry);
      // The UCCX script named the record (TYPE:ID): ask for its name, so the agent sees who is calling.
      if (target.entity && target.label === `${target.entity.type}:${target.entity.id}`) void this.showName(entry, target.entity);
    } else if (target.kind === 'pick') {
      this.tell({
        ...told,
        outcome: 'picker',
        target: target.choices
          .map((c) => c.label)
          .join(', ')
          .slice(0, 80),
      });
      this.view.upsert({ ...base, choices: target.choices, label: this.t.pick });
    } else if (target.kind === 'none') {
      this.tell({ ...told, outcome: 'none', target: target.reason });
      const reason = target.reason.replace(/ /g, '_') as keyof Strings;
      this.view.upsert({ ...base, note: (this.t[reason] as string | undefined) ?? target.reason });
    }
  }
}

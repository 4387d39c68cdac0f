import { DialogTracker, type PopRequest, type Trigger } from './dialog-tracker';
import { ParseError, parseDialogList, parseUpdate, type XmlParser } from './finesse-update';
import type { GadgetView } from './gadget-view';
import type { Strings } from './i18n';
import type { NotificationSource } from './notification-source';
import { callerNumber, targetFromDialog, targetFromLookup, type LookupAnswer, type PopConfig, type Target } from './pop-target';

/** Everything the gadget is told: by its URL parameters and prefs in the desktop, by URL parameters standalone. */
export interface GadgetSettings {
  agentId: string;
  extension: string;
  middlewareUrl: string;
  token: string;
  pop: PopConfig;
  trigger: Trigger;
  inbound: boolean;
  outbound: boolean;
  /** Finesse REST, to read live dialogs again after a reconnection. */
  finesse: { baseUrl: string; authorization: string } | null;
}

export interface GadgetDeps {
  parse: XmlParser;
  fetch: typeof fetch;
  openWindow: (url: string, name: string) => Window | null;
  storage: Pick<Storage, 'getItem' | 'setItem'> | null;
  log: (message: string, detail?: unknown) => void;
}

export const POP_WINDOW = 'fb24_crm';

/** Wires a notification source to the tracker, resolves each pop's target and opens it (or offers a button). */
export class GadgetApp {
  private readonly tracker: DialogTracker;
  private readonly poppedKey: string;

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
  }

  start(): void {
    this.source.start({
      update: (payload) => this.onUpdate(payload),
      state: (st) => this.view.state(st),
      resync: () => void this.resync(),
    });
  }

  stop(): void {
    this.source.stop();
  }

  onUpdate(payload: string | Element): void {
    let pops: PopRequest[];
    try {
      pops = this.tracker.apply(parseUpdate(payload, this.deps.parse));
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      // Malformed input is logged and dropped; the gadget keeps working.
      this.deps.log(`notification skipped: ${err.message}`);
      this.view.notice(this.t.malformed);
      return;
    }
    for (const p of pops) void this.pop(p);
  }

  async resync(): Promise<void> {
    const f = this.s.finesse;
    if (!f) return;
    try {
      const res = await this.deps.fetch(`${f.baseUrl}/finesse/api/User/${encodeURIComponent(this.s.agentId)}/Dialogs`, {
        headers: { authorization: f.authorization, accept: 'application/xml' },
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      for (const p of this.tracker.resync(parseDialogList(await res.text(), this.deps.parse))) void this.pop(p);
    } catch (err) {
      this.deps.log(`resync failed: ${(err as Error).message}`);
    }
  }

  private remember(dialogId: string): void {
    try {
      const ids = (this.deps.storage?.getItem(this.poppedKey) ?? '').split(',').filter(Boolean);
      this.deps.storage?.setItem(this.poppedKey, [...ids, dialogId].slice(-50).join(','));
    } catch {
      // storage full or disabled: the in-memory tracker still guards this page
    }
  }

  private async lookup(phone: string, dialog: PopRequest['dialog']): Promise<Target> {
    try {
      const res = await this.deps.fetch(`${this.s.middlewareUrl}/api/lookup?phone=${encodeURIComponent(phone)}`, {
        headers: this.s.token ? { authorization: `Bearer ${this.s.token}` } : {},
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return targetFromLookup((await res.json()) as LookupAnswer, dialog, this.s.pop);
    } catch (err) {
      this.deps.log(`lookup failed: ${(err as Error).message}`);
      return { kind: 'none', reason: 'lookup_failed' };
    }
  }

  async pop(p: PopRequest): Promise<void> {
    const d = p.dialog;
    this.remember(d.id);
    const base = { dialogId: d.id, direction: p.direction, phone: p.direction === 'inbound' ? callerNumber(d, this.s.pop) : d.toAddress, at: new Date() };
    let target = targetFromDialog(d, this.s.pop);
    if (target.kind === 'lookup') {
      this.view.upsert({ ...base, note: this.t.lookingUp });
      target = await this.lookup(target.phone, d);
    }
    if (target.kind === 'open') {
      const w = this.deps.openWindow(target.url, POP_WINDOW);
      this.view.upsert({ ...base, url: target.url, label: target.label, blocked: !w });
    } else if (target.kind === 'pick') {
      this.view.upsert({ ...base, choices: target.choices, label: this.t.pick });
    } else if (target.kind === 'none') {
      const reason = target.reason.replace(/ /g, '_') as keyof Strings;
      this.view.upsert({ ...base, note: (this.t[reason] as string | undefined) ?? target.reason });
    }
  }
}

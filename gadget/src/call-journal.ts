import type { CallReport } from './agent-protocol';
import type { Dialog, FinesseUpdate } from './finesse-update';

export type { CallReport };

/**
 * What the middleware must know to log the agent's calls in Bitrix24: each dialog's start, answer and end, its
 * direction and the other party. Built from the same dialog events as the pop; one report per change (the whole
 * record each time, so any single report is enough). Pure: the clock is injected.
 */
export interface JournalOptions {
  agentExtension: string;
  /** Call variable holding TYPE:ID of the CRM record (as the UCCX script sets it). */
  entityVariable: string;
  now?: () => number;
}

const INTERNAL = new Set(['CONSULT', 'CONFERENCE', 'SUPERVISOR_MONITOR', 'AGENT_INSIDE']);
const OUTBOUND = new Set(['OUT', 'OUTBOUND', 'OUTBOUND_PREVIEW']);
const TALKING = new Set(['ACTIVE', 'HELD']);
const REF = /^(CONTACT|LEAD|COMPANY):\d{1,12}$/;
const ENDED_MEMORY = 500;

export class CallJournal {
  private readonly calls = new Map<string, CallReport>();
  private readonly ended = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly o: JournalOptions) {
    this.now = o.now ?? Date.now;
  }

  apply(u: FinesseUpdate): CallReport[] {
    if (u.kind !== 'dialogs') return [];
    return u.dialogs.flatMap((d) => (u.event !== 'DELETE' ? this.upsert(d) : this.calls.has(d.id) ? this.end(d.id, null) : this.partialEnd(d)));
  }

  /**
   * After a reconnection: dialogs gone meanwhile have ended (when exactly is lost: now) — except those a notification
   * told of while the GET was under way (`fresh`): the GET's answer is older than they are.
   */
  resync(live: Dialog[], fresh: ReadonlySet<string> = new Set()): CallReport[] {
    const ids = new Set(live.map((d) => d.id));
    const gone = [...this.calls.keys()].filter((id) => !ids.has(id) && !fresh.has(id)).flatMap((id) => this.end(id, null));
    return [...gone, ...live.flatMap((d) => this.upsert(d))];
  }

  private direction(d: Dialog): 'inbound' | 'outbound' {
    return OUTBOUND.has(d.callType) || (d.fromAddress !== '' && d.fromAddress === this.o.agentExtension) ? 'outbound' : 'inbound';
  }

  private markEnded(id: string): void {
    this.ended.add(id);
    if (this.ended.size > ENDED_MEMORY) this.ended.delete(this.ended.values().next().value!);
  }

  /**
   * First seen already over (the page was reloaded or opened mid-call): only the end is true. Sent marked partial,
   * so the middleware can close a call an earlier page started, and never logs it as a call of its own.
   */
  private partialEnd(d: Dialog): CallReport[] {
    if (this.ended.has(d.id) || INTERNAL.has(d.callType)) return [];
    this.markEnded(d.id);
    const direction = this.direction(d);
    const ref = d.callVariables[this.o.entityVariable] ?? '';
    const mine = d.participants.find((p) => p.mediaAddress === this.o.agentExtension) ?? d.participants.find((p) => p.mediaAddressType === 'AGENT_DEVICE');
    const t = this.now();
    return [{ dialogId: d.id, direction, number: direction === 'outbound' ? d.toAddress : d.fromAddress, startedAt: t, answeredAt: null, endedAt: t, failure: d.state === 'FAILED' ? mine?.stateCause || 'OTHER' : null, crmRef: REF.test(ref) ? ref : null, partial: true }];
  }

  private end(id: string, failure: string | null): CallReport[] {
    const rec = this.calls.get(id);
    if (!rec) return []; // never seen alive: nothing true to say about it
    this.calls.delete(id);
    this.markEnded(id);
    return [{ ...rec, endedAt: this.now(), failure: failure ?? rec.failure }];
  }

  private upsert(d: Dialog): CallReport[] {
    if (this.ended.has(d.id) || INTERNAL.has(d.callType)) return [];
    const ext = this.o.agentExtension;
    const outbound = this.direction(d) === 'outbound';
    let rec = this.calls.get(d.id);
    const over = d.state === 'FAILED' || d.state === 'DROPPED';
    if (!rec && over) return this.partialEnd(d);
    const isNew = !rec;
    if (!rec) {
      rec = { dialogId: d.id, direction: outbound ? 'outbound' : 'inbound', number: outbound ? d.toAddress : d.fromAddress, startedAt: this.now(), answeredAt: null, endedAt: null, failure: null, crmRef: null };
      this.calls.set(d.id, rec);
    }
    const ref = d.callVariables[this.o.entityVariable] ?? '';
    if (!rec.crmRef && REF.test(ref)) rec.crmRef = ref;
    const out: CallReport[] = isNew ? [{ ...rec }] : [];
    if (rec.answeredAt === null && TALKING.has(d.state)) {
      rec.answeredAt = this.now();
      out.push({ ...rec });
    }
    if (over) {
      // The end report carries the whole record: the start and answer reports of this same update add nothing.
      const mine = d.participants.find((p) => p.mediaAddress === ext) ?? d.participants.find((p) => p.mediaAddressType === 'AGENT_DEVICE');
      return this.end(d.id, d.state === 'FAILED' ? mine?.stateCause || 'OTHER' : null);
    }
    return out;
  }
}

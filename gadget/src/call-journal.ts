import type { CallReport } from '../../protocol/agent-api';
import { agentLeg, callDirection, DEFAULT_INTERNAL_MAX_DIGITS, notCustomerCall, otherParty, placedInside } from './dialog-facts';
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
  /** Numbers this long or shorter are internal: a call whose only numbers are internal is not a customer's. */
  internalMaxDigits?: number;
  now?: () => number;
}

const TALKING = new Set(['ACTIVE', 'HELD']);
const REF = /^(CONTACT|LEAD|COMPANY):\d{1,12}$/;
const ENDED_MEMORY = 500;

/** Only calls with a customer number are reported: a withheld caller gives Bitrix24 nothing to log a call on. */
const known = (reports: CallReport[]) => reports.filter((r) => r.number !== '');

export class CallJournal {
  private readonly calls = new Map<string, CallReport>();
  private readonly ended = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly o: JournalOptions) {
    this.now = o.now ?? Date.now;
  }

  apply(u: FinesseUpdate): CallReport[] {
    if (u.kind !== 'dialogs') return [];
    return known(u.dialogs.flatMap((d) => (u.event !== 'DELETE' ? this.upsert(d) : this.calls.has(d.id) ? this.end(d.id, null) : this.partialEnd(d))));
  }

  /**
   * After a reconnection: dialogs gone meanwhile have ended (when exactly is lost: now) — except those a notification
   * told of while the GET was under way (`fresh`): the GET's answer is older than they are.
   */
  resync(live: Dialog[], fresh: ReadonlySet<string> = new Set()): CallReport[] {
    const ids = new Set(live.map((d) => d.id));
    const gone = [...this.calls.keys()].filter((id) => !ids.has(id) && !fresh.has(id)).flatMap((id) => this.end(id, null));
    return known([...gone, ...live.flatMap((d) => this.upsert(d))]);
  }

  /**
   * Finesse refused a call the agent placed, in CTI (an asynchronous <apiErrors> naming our MAKE_CALL): the call is
   * over, failed, with the number we dialled (the dialog itself never showed it).
   */
  failedDial(dialogId: string, number: string, cause: string): CallReport[] {
    if (this.ended.has(dialogId)) return [];
    const rec = this.calls.get(dialogId) ?? { dialogId, direction: 'outbound', number: '', startedAt: this.now(), answeredAt: null, endedAt: null, failure: null, crmRef: null, inside: true };
    rec.number ||= number;
    this.calls.set(dialogId, rec);
    return known(this.end(dialogId, /^[A-Z_]{1,40}$/.test(cause) ? cause : 'OTHER'));
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
    if (this.ended.has(d.id) || notCustomerCall(d, this.o.agentExtension)) return [];
    this.markEnded(d.id);
    const rec = this.newRecord(d);
    return [{ ...rec, endedAt: rec.startedAt, failure: this.failureOf(d), partial: true }];
  }

  /** The record of a dialog seen for the first time, now. */
  private newRecord(d: Dialog): CallReport {
    const outbound = callDirection(d, this.o.agentExtension) === 'outbound';
    const ref = d.callVariables[this.o.entityVariable] ?? '';
    const rec: CallReport = {
      dialogId: d.id,
      direction: outbound ? 'outbound' : 'inbound',
      number: this.numberOf(d),
      startedAt: this.now(),
      answeredAt: null,
      endedAt: null,
      failure: null,
      crmRef: REF.test(ref) ? ref : null,
    };
    if (placedInside(d, this.o.agentExtension)) rec.inside = true;
    return rec;
  }

  private numberOf(d: Dialog): string {
    return otherParty(d, this.o.agentExtension, this.o.internalMaxDigits ?? DEFAULT_INTERNAL_MAX_DIGITS);
  }

  /** Finesse's cause of a FAILED dialog on the agent's leg (BUSY, BAD_DESTINATION…). */
  private failureOf(d: Dialog): string | null {
    return d.state === 'FAILED' ? agentLeg(d, this.o.agentExtension)?.stateCause || 'OTHER' : null;
  }

  private end(id: string, failure: string | null): CallReport[] {
    const rec = this.calls.get(id);
    if (!rec) return []; // never seen alive: nothing true to say about it
    this.calls.delete(id);
    this.markEnded(id);
    return [{ ...rec, endedAt: this.now(), failure: failure ?? rec.failure }];
  }

  private upsert(d: Dialog): CallReport[] {
    if (this.ended.has(d.id) || notCustomerCall(d, this.o.agentExtension)) return [];
    // A conference continuing a call this agent had (secondaryId): his call was logged up to the conference; the
    // agents who join log theirs. Never a second call of his for the same customer.
    if (!this.calls.has(d.id) && d.secondaryId && (this.ended.has(d.secondaryId) || this.calls.has(d.secondaryId))) return [];
    let rec = this.calls.get(d.id);
    const over = d.state === 'FAILED' || d.state === 'DROPPED';
    if (!rec && over) return this.partialEnd(d);
    const isNew = !rec;
    if (!rec) {
      rec = this.newRecord(d);
      this.calls.set(d.id, rec);
    }
    // Call variables may come in a later PUT; the dialled number after INITIATING; OUT once the call left the switch.
    const ref = d.callVariables[this.o.entityVariable] ?? '';
    if (!rec.crmRef && REF.test(ref)) rec.crmRef = ref;
    let changed = isNew;
    if (!rec.number && this.numberOf(d)) {
      rec.number = this.numberOf(d);
      changed = true;
    }
    if (rec.inside && !placedInside(d, this.o.agentExtension)) {
      delete rec.inside;
      changed = true;
    }
    const out: CallReport[] = changed ? [{ ...rec }] : [];
    if (rec.answeredAt === null && TALKING.has(d.state)) {
      rec.answeredAt = this.now();
      out.push({ ...rec });
    }
    // The end report carries the whole record: the start and answer reports of this same update add nothing.
    if (over) return this.end(d.id, this.failureOf(d));
    return out;
  }
}

import { isCustomerCall } from './call-class';
import { agentLeg, callDirection, classify } from './dialog-facts';
import type { Dialog, FinesseUpdate } from './finesse-update';

/**
 * Decides when to pop: once per dialog, when the agent's leg reaches the configured moment (ringing or answered),
 * for the configured directions. Repeated PUTs, duplicate deliveries, late call variables and a resync after
 * reconnection never pop twice; a live dialog first seen mid-call (subscription or reconnection) still pops.
 * Pure state machine: no I/O, no timers.
 */
export type Trigger = 'ALERTING' | 'ACTIVE';

export interface TrackerOptions {
  agentExtension: string;
  trigger: Trigger;
  inbound: boolean;
  outbound: boolean;
  /** Dialog ids popped before (e.g. before a page reload). */
  alreadyPopped?: Iterable<string>;
}

export interface PopRequest {
  dialog: Dialog;
  direction: 'inbound' | 'outbound';
}

const REACHED: Record<Trigger, Set<string>> = {
  ALERTING: new Set(['ALERTING', 'ACTIVE', 'HELD']),
  ACTIVE: new Set(['ACTIVE', 'HELD']),
};
const ENDED_MEMORY = 500;

export class DialogTracker {
  private readonly dialogs = new Map<string, Dialog>();
  private readonly popped: Set<string>;
  private readonly ended = new Set<string>();

  constructor(private readonly opts: TrackerOptions) {
    this.popped = new Set(opts.alreadyPopped ?? []);
  }

  /** The state that decides: the agent's own leg inbound, the dialog outbound (the far end rings). */
  private decidingState(d: Dialog, direction: 'inbound' | 'outbound'): string {
    if (direction === 'outbound') return d.state;
    const mine = agentLeg(d, this.opts.agentExtension);
    return mine?.state ?? d.state;
  }

  apply(update: FinesseUpdate): PopRequest[] {
    if (update.kind !== 'dialogs') return [];
    if (update.event === 'DELETE') {
      for (const d of update.dialogs) this.end(d.id);
      return [];
    }
    return update.dialogs.flatMap((d) => this.upsert(d));
  }

  /**
   * After a reconnection: the dialogs Finesse says are live now (GET User/{id}/Dialogs). `fresh`: dialogs a
   * notification told of while that GET was under way — newer than its answer, so never ended by it.
   */
  resync(live: Dialog[], fresh: ReadonlySet<string> = new Set()): PopRequest[] {
    const ids = new Set(live.map((d) => d.id));
    for (const id of [...this.dialogs.keys()]) if (!ids.has(id) && !fresh.has(id)) this.end(id);
    return live.flatMap((d) => this.upsert(d));
  }

  live(): Dialog[] {
    return [...this.dialogs.values()];
  }

  /** Dialogs popped elsewhere (another page of this agent, before a failover): never popped here. */
  markPopped(ids: Iterable<string>): void {
    for (const id of ids) this.popped.add(id);
  }

  wasPopped(id: string): boolean {
    return this.popped.has(id);
  }

  private end(id: string): void {
    this.dialogs.delete(id);
    this.ended.add(id);
    if (this.ended.size > ENDED_MEMORY) this.ended.delete(this.ended.values().next().value!);
  }

  private upsert(d: Dialog): PopRequest[] {
    if (this.ended.has(d.id)) return []; // a late PUT after DELETE
    const before = this.dialogs.get(d.id);
    // Call variables may arrive empty first and filled later; never let an empty value erase a known one.
    const callVariables = { ...before?.callVariables };
    for (const [k, v] of Object.entries(d.callVariables)) if (v !== '' || !(k in callVariables)) callVariables[k] = v;
    const merged: Dialog = { ...d, callVariables };
    if (merged.state === 'DROPPED' || merged.state === 'FAILED') {
      this.dialogs.set(d.id, merged);
      return [];
    }
    this.dialogs.set(d.id, merged);
    const ext = this.opts.agentExtension;
    // A call the agent places pops once it has left the switch (OUT): until then it may be a call to a colleague.
    // Only a customer's call pops (call-class.ts): never a consult, a supervisor's leg, a dialer's, a chat.
    // (A call the agent placed is not one yet: it pops once it has left the switch, as OUT.)
    const cls = classify(merged, ext);
    if (this.popped.has(d.id) || !isCustomerCall(cls)) return [];
    // A transfer's or conference's dialog continuing a call this agent already popped: the same customer, no second pop.
    if (merged.secondaryId && this.popped.has(merged.secondaryId)) {
      this.popped.add(d.id);
      return [];
    }
    const direction = callDirection(merged, this.opts.agentExtension);
    // A campaign's call comes to the agent like an inbound one (he did not choose the customer): it pops with them.
    const wanted = cls === 'campaign' ? this.opts.inbound : direction === 'inbound' ? this.opts.inbound : this.opts.outbound;
    if (!wanted) return [];
    if (!REACHED[this.opts.trigger].has(this.decidingState(merged, direction))) return [];
    this.popped.add(d.id);
    return [{ dialog: merged, direction }];
  }
}

import { dialogXml, updateXml, type DialogSpec } from './finesse-xml';
import type { FinesseEmulator } from './finesse-emulator';

/**
 * The rest of a real contact center, as Finesse shows each leg on each desktop (conformance/finesse: Cisco's call
 * types and its Dialog address rules): a blind transfer through a route point, a supervisor's barge-in and
 * intercept, an agent's assist and emergency calls to a supervisor, a preview campaign (the dialer port's
 * reservation call, then the customer leg), a chat on the Media node. Each returns the dialog id the agent sees first.
 */
export const ROUTE_POINT = '5000';
export const DIALER_PORT = '3001';
/** The lab's chat Media Routing Domain id. */
export const CHAT_MRD = '5001';

type Part = NonNullable<DialogSpec['participants']>[number];
const legOf = (address: string, state: string, agent = false): Part => ({ address, state, ...(agent ? { type: 'AGENT_DEVICE' } : {}) });

export class ContactCenterFlows {
  constructor(private readonly f: FinesseEmulator) {}

  /** The agent's live call with a customer (answered), or an error naming what is missing. */
  private liveCall(extension: string): DialogSpec {
    const agent = this.f.agentByExtension(extension);
    const d = agent && this.f.liveDialogs(agent.id).find((x) => x.state === 'ACTIVE');
    if (!d) throw new Error(`${extension} has no answered call`);
    return d;
  }

  private customerOf(d: DialogSpec, extension: string): string {
    return (d.participants ?? []).find((p) => p.address !== extension && p.type !== 'AGENT_DEVICE')?.address ?? d.from ?? '';
  }

  /**
   * A blind transfer of `fromExt`'s call through the route point: his dialog ends; the customer arrives at `toExt`
   * as UCCX's "Blind transferred call" (OFFERED), from the customer, to the route point, the call variables kept.
   */
  blindTransfer(fromExt: string, toExt: string, talkMs = 20_000): string {
    const original = this.liveCall(fromExt);
    const customer = this.customerOf(original, fromExt);
    this.f.drop(fromExt, original);
    const id = this.f.newDialogId();
    const offered = (state: string, agentState: string): DialogSpec => ({
      ...original,
      id,
      state,
      from: customer,
      to: ROUTE_POINT,
      dnis: toExt,
      dialedNumber: ROUTE_POINT,
      callType: 'OFFERED',
      associatedDialogUri: '',
      participants: [legOf(toExt, agentState, true), legOf(customer, 'ACTIVE')],
    });
    this.f.show(toExt, offered('ALERTING', 'ALERTING'), 'POST');
    this.f.later(500, () => {
      this.f.show(toExt, offered('ACTIVE', 'ACTIVE'), 'PUT');
      this.f.later(talkMs, () => this.f.drop(toExt, offered('ACTIVE', 'ACTIVE')));
    });
    return id;
  }

  /**
   * The supervisor on `supExt` barges into (SUPERVISOR_BARGE_IN) or intercepts (SUPERVISOR_INTERCEPT: the agent's
   * leg drops, the supervisor talks with the customer) the agent's live call.
   */
  supervise(supExt: string, agentExt: string, action: 'barge' | 'intercept', talkMs = 20_000): string {
    const call = this.liveCall(agentExt);
    const customer = this.customerOf(call, agentExt);
    const id = this.f.newDialogId();
    const leg = (state: string, agentIn: boolean): DialogSpec => ({
      ...call,
      id,
      state,
      callType: action === 'barge' ? 'SUPERVISOR_BARGE_IN' : 'SUPERVISOR_INTERCEPT',
      associatedDialogUri: `/finesse/api/Dialog/${call.id}`,
      participants: [legOf(supExt, 'ACTIVE', true), ...(agentIn ? [legOf(agentExt, 'ACTIVE', true)] : []), legOf(customer, 'ACTIVE')],
    });
    this.f.show(supExt, leg('ACTIVE', action === 'barge'), 'POST');
    if (action === 'intercept') this.f.drop(agentExt, call);
    this.f.later(talkMs, () => this.f.drop(supExt, leg('ACTIVE', action === 'barge')));
    return id;
  }

  /** The agent asks the supervisor for help (ASSIST) or raises an emergency (EMERGENCY): a call between them. */
  callSupervisor(agentExt: string, supExt: string, kind: 'ASSIST' | 'EMERGENCY', talkMs = 10_000): string {
    const id = this.f.newDialogId();
    const leg = (state: string, sup: string): DialogSpec => ({
      id,
      state,
      from: agentExt,
      to: supExt,
      dnis: supExt,
      dialedNumber: supExt,
      callType: kind,
      participants: [legOf(agentExt, 'ACTIVE', true), legOf(supExt, sup, true)],
    });
    this.f.show(agentExt, leg('ALERTING', 'ALERTING'), 'POST');
    this.f.show(supExt, leg('ALERTING', 'ALERTING'), 'POST');
    this.f.later(500, () => {
      for (const ext of [agentExt, supExt]) this.f.show(ext, leg('ACTIVE', 'ACTIVE'), 'PUT');
      this.f.later(talkMs, () => {
        for (const ext of [agentExt, supExt]) this.f.drop(ext, leg('ACTIVE', 'ACTIVE'));
      });
    });
    return id;
  }

  /**
   * A preview campaign: the dialer port's reservation call rings the agent (RESERVATION, from the port to the
   * agent's extension), he accepts (it drops), and the customer leg follows (OUTBOUND_PREVIEW, from the agent to the
   * customer, the number without the dialer's prefix in callbackNumber): it rings, is answered, and ends.
   */
  previewCampaign(agentExt: string, customer: string, o: { prefix?: string; talkMs?: number } = {}): string {
    const reservationId = this.f.newDialogId();
    const reservation = (state: string): DialogSpec => ({
      id: reservationId,
      state,
      from: DIALER_PORT,
      to: agentExt,
      dnis: agentExt,
      dialedNumber: agentExt,
      callType: 'RESERVATION',
      vars: { BACampaign: 'LabPreview', BAAccountNumber: 'AC111', BAResponse: '' },
      participants: [legOf(agentExt, state, true), legOf(DIALER_PORT, 'ACTIVE')],
    });
    this.f.show(agentExt, reservation('ALERTING'), 'POST');
    this.f.later(500, () => {
      this.f.show(agentExt, reservation('ACTIVE'), 'PUT');
      this.f.drop(agentExt, reservation('ACTIVE'));
      const id = this.f.newDialogId();
      const dialled = `${o.prefix ?? '9'}${customer}`;
      const leg = (state: string, far: string): DialogSpec => ({
        id,
        state,
        from: agentExt,
        to: dialled,
        callbackNumber: customer,
        callType: 'OUTBOUND_PREVIEW',
        vars: { BACampaign: 'LabPreview', BAAccountNumber: 'AC111', BAResponse: 'Accept' },
        participants: [legOf(agentExt, 'ACTIVE', true), legOf(dialled, far)],
      });
      this.f.show(agentExt, leg('ALERTING', 'ALERTING'), 'POST');
      this.f.later(500, () => {
        this.f.show(agentExt, leg('ACTIVE', 'ACTIVE'), 'PUT');
        this.f.later(o.talkMs ?? 20_000, () => this.f.drop(agentExt, leg('ACTIVE', 'ACTIVE')));
      });
    });
    return reservationId;
  }

  /**
   * A chat offered to the agent, as Finesse shows a nonvoice task: on his Media node, mediaType = the MRD's name,
   * an id that is no call id, the customer's name or login as the "address", no call type.
   */
  chat(agentExt: string, from = 'ivan.petrov@example.com', talkMs = 10_000): string {
    const agent = this.f.agentByExtension(agentExt);
    if (!agent) throw new Error(`no lab agent with extension ${agentExt}`);
    const id = `${Date.now().toString(16)}_chat_${this.f.newDialogId()}`;
    const node = `/finesse/api/User/${agent.id}/Media/${CHAT_MRD}/Dialogs`;
    const d = (state: string): DialogSpec => ({ id, state, from, to: agent.id, callType: '', mediaType: 'Chat', participants: [legOf(from, 'ACTIVE'), legOf(agent.id, state, true)] });
    const send = (event: 'POST' | 'PUT' | 'DELETE', state: string) => {
      const data = event === 'PUT' ? dialogXml({ ...d(state), tag: 'dialog' }) : `<dialogs>${dialogXml(d(state))}</dialogs>`;
      this.f.publish(agent.id, updateXml(event, node, data), node);
    };
    send('POST', 'OFFERED');
    this.f.later(500, () => {
      send('PUT', 'ACTIVE');
      this.f.later(talkMs, () => send('DELETE', 'CLOSED'));
    });
    return id;
  }
}

import type { FinesseEmulator, LabAgent, RingOptions } from './finesse-emulator';
import { ringing, updateXml, type DialogSpec } from './finesse-xml';

// The calls the lab plays on the Finesse side, step by step as Finesse shows them (Finesse developer guide: the call
// lifecycle; conformance/finesse holds the real payloads these steps are checked against).

/**
 * An inbound call rings at the agent with this extension: POST ALERTING, PUT ACTIVE, PUT DROPPED, DELETE. Not
 * answered within `ringMs`: ring no answer (DROPPED, DELETE, and UCCX sets the agent Not Ready).
 */
export function ring(f: FinesseEmulator, extension: string, caller: string, o: RingOptions = {}): string {
  const agent = f.agentByExtension(extension);
  if (!agent) throw new Error(`no lab agent with extension ${extension}`);
  const id = f.newDialogId();
  const parts = (agentState: string, callerState: string) => [{ address: agent.extension, type: 'AGENT_DEVICE', state: agentState }, ...(o.withheld ? [] : [{ address: caller, state: callerState }])];
  const base = { ...ringing(agent.extension, id, o.withheld ? '' : caller, o.vars ?? {}), callType: o.callType ?? 'ACD_IN' };
  f.put(agent, { ...base, state: 'ALERTING', participants: parts('ALERTING', 'INITIATED') }, 'POST');
  const end = () => f.hangUp(agent, { ...base, state: 'DROPPED', participants: parts('DROPPED', 'DROPPED') });
  const answerAfter = o.answerAfterMs === undefined ? 1500 : o.answerAfterMs;
  if (answerAfter === null)
    f.later(o.ringMs ?? 10_000, () => {
      const live = f.live.get(agent.id)?.get(id);
      if (!live || live.state !== 'ALERTING') return; // answered from the desktop meanwhile
      end();
      f.setState(agent.id, 'NOT_READY'); // RONA
    });
  else
    f.later(answerAfter, () => {
      f.put(agent, { ...base, state: 'ACTIVE', participants: parts('ACTIVE', 'ACTIVE') }, 'PUT');
      f.later(o.talkMs ?? 20_000, end);
    });
  return id;
}

/**
 * MAKE_CALL accepted, as UCCX shows a call the agent places: POST INITIATING (only his leg, no toAddress), PUT
 * INITIATED — AGENT_INSIDE while the call is inside the switch — then, once it leaves, reclassified OUT: ALERTING
 * → ACTIVE → DROPPED, or FAILED (busy). A number that fails before leaving the switch stays AGENT_INSIDE.
 */
export function dialOut(f: FinesseEmulator, agent: LabAgent, toAddress: string, requestId = ''): string {
  const id = f.newDialogId();
  const o = f.outbound;
  const mine = { address: agent.extension, type: 'AGENT_DEVICE' };
  const step = (state: string, callType: string, me: string, far: string | null, cause?: string): DialogSpec => ({
    id,
    state,
    from: agent.extension,
    to: far === null ? '' : toAddress,
    callType,
    participants: [{ ...mine, state: me, cause }, ...(far === null ? [] : [{ address: toAddress, state: far }])],
  });
  f.put(agent, step('INITIATING', 'AGENT_INSIDE', 'INITIATING', null), 'POST');
  if (o.ctiError?.has(toAddress)) {
    // CTI refuses the call: the asynchronous error on the Dialogs node (Cisco's documented sample), then the dialog goes.
    f.later(20, () => {
      f.publish(
        agent.id,
        updateXml(
          'PUT',
          `/finesse/api/Dialog/${id}`,
          '<apiErrors><apiError><errorData>34</errorData><errorMessage>CF_RESOURCE_OUT_OF_SERVICE</errorMessage><errorType>Call Operation Failure</errorType></apiError></apiErrors>',
          requestId,
        ),
      );
      f.hangUp(agent, step('DROPPED', 'AGENT_INSIDE', 'DROPPED', null));
    });
    return id;
  }
  f.later(20, () => {
    f.put(agent, step('INITIATED', 'AGENT_INSIDE', 'INITIATED', 'INITIATED'), 'PUT');
    if (o.unreachable?.has(toAddress)) {
      f.later(100, () => {
        f.put(agent, step('FAILED', 'AGENT_INSIDE', 'FAILED', 'DROPPED', 'BAD_DESTINATION'), 'PUT');
        f.later(200, () => f.hangUp(agent, step('DROPPED', 'AGENT_INSIDE', 'DROPPED', 'DROPPED', 'BAD_DESTINATION')));
      });
      return;
    }
    if (o.busy.has(toAddress)) {
      f.later(200, () => {
        f.put(agent, step('FAILED', 'OUT', 'FAILED', 'DROPPED', 'BUSY'), 'PUT');
        f.later(300, () => f.hangUp(agent, step('DROPPED', 'OUT', 'DROPPED', 'DROPPED', 'BUSY')));
      });
      return;
    }
    f.later(100, () => {
      f.put(agent, step('ALERTING', 'OUT', 'ACTIVE', 'ALERTING'), 'PUT');
      if (o.noAnswer.has(toAddress)) {
        f.later(o.ringMs, () => f.hangUp(agent, step('DROPPED', 'OUT', 'DROPPED', 'DROPPED')));
        return;
      }
      f.later(o.answerAfterMs, () => {
        f.put(agent, step('ACTIVE', 'OUT', 'ACTIVE', 'ACTIVE'), 'PUT');
        f.later(o.talkMs, () => f.hangUp(agent, step('DROPPED', 'OUT', 'DROPPED', 'DROPPED')));
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
export function consult(f: FinesseEmulator, fromExt: string, toExt: string, complete: 'transfer' | 'conference', stepMs = 100): string {
  const a = f.agentByExtension(fromExt);
  const b = f.agentByExtension(toExt);
  const original = a && f.liveDialogs(a.id).find((d) => d.state === 'ACTIVE');
  if (!a || !b || !original) throw new Error(`consult: ${fromExt} has no active call, or ${toExt} is no lab agent`);
  const customer = (original.participants ?? []).find((p) => p.address !== a.extension);
  const id = f.newDialogId();
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
  f.put(a, held, 'PUT');
  f.put(a, consult('INITIATED', 'INITIATED', 'ALERTING'), 'POST');
  f.put(b, consult('ALERTING', 'INITIATED', 'ALERTING'), 'POST');
  f.later(stepMs, () => {
    f.put(a, consult('ACTIVE', 'ACTIVE', 'ACTIVE'), 'PUT');
    f.put(b, consult('ACTIVE', 'ACTIVE', 'ACTIVE'), 'PUT');
    f.later(stepMs, () => {
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
      f.hangUp(a, held);
      if (complete === 'transfer') {
        f.hangUp(a, consult('DROPPED', 'DROPPED', 'ACTIVE'));
        f.put(b, survivor('TRANSFER', [{ address: b.extension, type: 'AGENT_DEVICE', state: 'ACTIVE' }, ...customerLeg]), 'PUT');
      } else {
        const all = [...legs('ACTIVE', 'ACTIVE'), ...customerLeg];
        f.put(a, survivor('CONFERENCE', all), 'PUT');
        f.put(b, survivor('CONFERENCE', all), 'PUT');
      }
    });
  });
  return id;
}

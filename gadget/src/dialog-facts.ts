import type { Dialog, Participant } from './finesse-update';

/**
 * What a dialog is, from the agent's side, for both the pop (dialog-tracker.ts) and the call log (call-journal.ts):
 * whether it is a leg between agents, its direction, the agent's own leg. Pure.
 */
const INTERNAL = new Set(['CONSULT', 'CONFERENCE', 'SUPERVISOR_MONITOR', 'AGENT_INSIDE']);
const OUTBOUND = new Set(['OUT', 'OUTBOUND', 'OUTBOUND_PREVIEW']);

/** A leg between agents (consult, conference, monitoring), not a call with a customer. */
export const isInternal = (d: Dialog): boolean => INTERNAL.has(d.callType);

export function callDirection(d: Dialog, agentExtension: string): 'inbound' | 'outbound' {
  return OUTBOUND.has(d.callType) || (d.fromAddress !== '' && d.fromAddress === agentExtension) ? 'outbound' : 'inbound';
}

/** The agent's participant: the one on his extension, else the agent device. */
export function agentLeg(d: Dialog, agentExtension: string): Participant | undefined {
  return d.participants.find((p) => p.mediaAddress === agentExtension) ?? d.participants.find((p) => p.mediaAddressType === 'AGENT_DEVICE');
}

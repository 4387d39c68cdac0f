import type { Dialog, Participant } from './finesse-update';

/**
 * What a dialog is, from the agent's side, for both the pop (dialog-tracker.ts) and the call log (call-journal.ts):
 * whether it is a leg between agents, its direction, the agent's own leg. Pure.
 */
const INTERNAL = new Set(['CONSULT', 'CONFERENCE', 'SUPERVISOR_MONITOR']);
/** Finesse's voice call types (reference finesse.md §2.4); another is read as a customer call, and logged once. */
export const KNOWN_CALL_TYPES = new Set(['ACD_IN', 'PREROUTE_ACD_IN', 'PREROUTE_DIRECT_AGENT', 'TRANSFER', 'OTHER_IN', 'OUT', 'AGENT_INSIDE', 'CONSULT', 'CONFERENCE', 'SUPERVISOR_MONITOR', 'OUTBOUND', 'OUTBOUND_PREVIEW', 'OUTBOUND_CALLBACK', 'OUTBOUND_PERSONAL_CALLBACK', '']);
const OUTBOUND = new Set(['OUT', 'OUTBOUND', 'OUTBOUND_PREVIEW']);

/**
 * A call the agent placed that has not left the switch (yet): UCCX calls it AGENT_INSIDE until it goes out and is
 * reclassified OUT. It may be a call to another agent, or a dial to a customer that fails early (no trunk, bad
 * number) — so it is neither popped nor logged as a customer call, but it is reported (click-to-dial needs its end).
 */
export const placedInside = (d: Dialog, agentExtension: string): boolean => d.callType === 'AGENT_INSIDE' && d.fromAddress === agentExtension;

/** A leg between agents (consult, conference, monitoring, another agent calling him), not a call with a customer. */
export const isInternal = (d: Dialog, agentExtension: string): boolean =>
  INTERNAL.has(d.callType) || (d.callType === 'AGENT_INSIDE' && !placedInside(d, agentExtension));

export function callDirection(d: Dialog, agentExtension: string): 'inbound' | 'outbound' {
  return OUTBOUND.has(d.callType) || (d.fromAddress !== '' && d.fromAddress === agentExtension) ? 'outbound' : 'inbound';
}

/** The agent's participant: the one on his extension, else the agent device. */
export function agentLeg(d: Dialog, agentExtension: string): Participant | undefined {
  return d.participants.find((p) => p.mediaAddress === agentExtension) ?? d.participants.find((p) => p.mediaAddressType === 'AGENT_DEVICE');
}

/**
 * The customer's number: where a call the agent placed goes (toAddress), where a call he takes comes from
 * (fromAddress) — else the leg that is not his. '' when the caller withheld it (an empty fromAddress and no other
 * leg, as Finesse shows it). Never the agent's own extension.
 */
export function otherParty(d: Dialog, agentExtension: string): string {
  const address = callDirection(d, agentExtension) === 'outbound' ? d.toAddress : d.fromAddress;
  if (address && address !== agentExtension) return address;
  return d.participants.find((p) => p.mediaAddress && p.mediaAddress !== agentExtension)?.mediaAddress ?? '';
}

import { classify, isCustomerCall, type CallClass } from './call-class';
import type { Dialog, Participant } from './finesse-update';

/**
 * What a dialog is, from the agent's side, for both the pop (dialog-tracker.ts) and the call log (call-journal.ts):
 * its class (call-class.ts), its direction, the agent's own leg, the customer's number. Pure.
 */
export { classify, type CallClass };

/**
 * A call the agent placed that has not left the switch (yet): UCCX calls it AGENT_INSIDE until it goes out and is
 * reclassified OUT. It may be a call to another agent, or a dial to a customer that fails early (no trunk, bad
 * number) — so it is neither popped nor logged as a customer call, but it is reported (click-to-dial needs its end).
 */
export const placedInside = (d: Dialog, agentExtension: string): boolean => classify(d, agentExtension) === 'placed';

/** Not a customer's call for this agent (between agents, a supervisor's, a dialer's, a chat, unknown): never popped nor logged. */
export const notCustomerCall = (d: Dialog, agentExtension: string): boolean => {
  const c = classify(d, agentExtension);
  return c !== 'placed' && !isCustomerCall(c);
};

export function callDirection(d: Dialog, agentExtension: string): 'inbound' | 'outbound' {
  const c = classify(d, agentExtension);
  return c === 'customer_out' || c === 'placed' || c === 'campaign' ? 'outbound' : 'inbound';
}

/** The agent's participant: the one on his extension, else the agent device. */
export function agentLeg(d: Dialog, agentExtension: string): Participant | undefined {
  return d.participants.find((p) => p.mediaAddress === agentExtension) ?? d.participants.find((p) => p.mediaAddressType === 'AGENT_DEVICE');
}

/**
 * Could this be a customer's telephone number? Digits (a leading + allowed) after the usual separators, longer
 * than any internal number of the contact center: agent extensions, route points, CTI and dialer ports are short
 * directory numbers (docs/gadget.md: INTERNAL_MAX_DIGITS of the gadget), a login id or a chat name is not digits at all.
 */
export function looksLikeCustomerNumber(value: string, internalMaxDigits: number): boolean {
  const v = value.trim().replace(/[\s().-]/g, '');
  return /^\+?\d+$/.test(v) && v.replace(/^\+/, '').length > internalMaxDigits;
}

/**
 * The customer's number: where a call the agent placed (or a campaign) goes (toAddress), where a call he takes comes
 * from (fromAddress) — else a participant that is neither his leg nor an internal number. '' when there is none
 * (a withheld caller, or a transfer whose addresses are all internal): then nothing is looked up or logged.
 * Never the agent's own extension, another extension, a route point, a port or a login id.
 */
export function otherParty(d: Dialog, agentExtension: string, internalMaxDigits = DEFAULT_INTERNAL_MAX_DIGITS): string {
  const customer = (v: string) => v !== '' && v !== agentExtension && looksLikeCustomerNumber(v, internalMaxDigits);
  // A campaign call: the number without the dialer's prefix when Finesse gives it, else the number the dialer called.
  if (classify(d, agentExtension) === 'campaign' && customer(d.callbackNumber ?? '')) return d.callbackNumber!;
  const address = callDirection(d, agentExtension) === 'outbound' ? d.toAddress : d.fromAddress;
  if (customer(address)) return address;
  return d.participants.find((p) => customer(p.mediaAddress))?.mediaAddress ?? '';
}

/** Directory numbers of this length or shorter are internal (extensions, route points, ports): 6 digits. */
export const DEFAULT_INTERNAL_MAX_DIGITS = 6;

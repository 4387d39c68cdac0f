import type { Dialog } from './finesse-update';

/**
 * What a Finesse dialog is to the agent whose desktop shows it, from Cisco's call-type tables (conformance/finesse:
 * UCCX's CTI "CallType Values" and "CallType Fields", the CTI Server's CallType enumeration of UCCE/PCCE, and the
 * strings Finesse clients read from `mediaProperties/callType`). Only a customer's call is popped and logged; every
 * other kind — a leg between agents, a supervisor's, a dialer's, a chat — never is, and a call type Cisco adds later
 * is `unknown` (never a customer call) until this table names it. Pure.
 */
export type CallClass =
  /** A customer calls in: queued, prerouted, transferred or redirected to this agent. */
  | 'customer_in'
  /** This agent's own call to a customer. */
  | 'customer_out'
  /** A campaign's (dialer's) call to a customer, handed to this agent: he did not choose whom he talks to. */
  | 'campaign'
  /** A call the agent placed that has not left the switch yet (UCCX reclassifies it OUT when it does). */
  | 'placed'
  /** A leg between agents: consult, conference set-up, another agent calling, an unmonitored internal device. */
  | 'internal'
  /** A supervisor's leg: monitor, whisper, barge-in, an agent's assist or emergency request. */
  | 'supervisory'
  /** The supervisor took the agent's place: from then on it is the supervisor's call with the customer. */
  | 'intercept'
  /** A dialer's leg: a reservation call from a dialer port, a greeting, an IVR campaign leg. */
  | 'dialer'
  /** Chat, e-mail, task: not a phone call. */
  | 'non_voice'
  /** Not in Cisco's tables as we hold them: treated as not a customer call (and said once). */
  | 'unknown';

/**
 * Every call type of the tables, by the name Finesse gives it (CTI names without their `CALLTYPE_` prefix; both
 * spellings where the CTI protocol and Finesse differ, e.g. SUPERVISOR_BARGEIN / SUPERVISOR_BARGE_IN).
 */
export const CALL_TYPE_CLASSES: Readonly<Record<string, CallClass>> = {
  // Inbound: ACD (UCCX: CCX_IN, shown as ACD_IN), prerouted (UCCE), transferred, overflowed, non-ACD.
  ACD_IN: 'customer_in',
  CCX_IN: 'customer_in',
  PREROUTE_ACD_IN: 'customer_in',
  PREROUTE_DIRECT_AGENT: 'customer_in',
  TRANSFER: 'customer_in',
  TRANSFER_IN: 'customer_in',
  TRANSFERRED_IN: 'customer_in',
  OVERFLOW_IN: 'customer_in',
  OTHER_IN: 'customer_in',
  NON_ACD: 'customer_in',
  /** UCCX: "Blind transferred call" — the customer arrives at the receiving agent. */
  OFFERED: 'customer_in',
  // The agent's own outbound calls.
  OUT: 'customer_out',
  AUTO_OUT: 'customer_out',
  AGENT_OUT: 'customer_out',
  AGENT_INSIDE: 'placed',
  // Campaign (Outbound Option / UCCX outbound) customer legs and callbacks.
  PREVIEW: 'campaign',
  AGENT_OUTBOUND: 'campaign',
  CUSTOMER_PREVIEW: 'campaign',
  CUSTOMER_PREVIEW_DIRECT: 'campaign',
  CUSTOMER_PREDICTIVE: 'campaign',
  CUSTOMER_CALLBACK: 'campaign',
  CUSTOMER_PERSONAL: 'campaign',
  CUSTOMER_PERSONAL_CALLBACK: 'campaign',
  OUTBOUND: 'campaign',
  OUTBOUND_PREVIEW: 'campaign',
  OUTBOUND_CALLBACK: 'campaign',
  OUTBOUND_CALLBACK_PREVIEW: 'campaign',
  OUTBOUND_PERSONAL_CALLBACK: 'campaign',
  OUTBOUND_PERSONAL_CALLBACK_PREVIEW: 'campaign',
  OUTBOUND_DIRECT_PREVIEW: 'campaign',
  VOICE_CALL_BACK: 'campaign',
  // Dialer legs: the reservation call rings the agent from a dialer port; greetings; the IVR leg of a campaign.
  RESERVATION: 'dialer',
  RESERVATION_PREVIEW: 'dialer',
  RESERVATION_PREVIEW_DIRECT: 'dialer',
  RESERVATION_PREDICTIVE: 'dialer',
  RESERVATION_CALLBACK: 'dialer',
  RESERVATION_PERSONAL_CALLBACK: 'dialer',
  CUSTOMER_IVR: 'dialer',
  PLAY_AGENT_GREETING: 'dialer',
  RECORD_AGENT_GREETING: 'dialer',
  // Between agents.
  CONSULT: 'internal',
  CONSULT_OFFERED: 'internal',
  CONSULT_OFFERRED: 'internal',
  CONSULT_CONFERENCE: 'internal',
  /**
   * "ACD calls … conferenced" (CallType Fields): the customer's call with several agents. For an agent who joins it
   * is his call with the customer; the agent who had the call keeps it (dialog-tracker / call-journal: secondaryId).
   */
  CONFERENCE: 'customer_in',
  UNMONITORED: 'internal',
  // Supervisors.
  ASSIST: 'supervisory',
  EMERGENCY: 'supervisory',
  SUPERVISOR_MONITOR: 'supervisory',
  SUPERVISOR_WHISPER: 'supervisory',
  SUPERVISOR_BARGEIN: 'supervisory',
  SUPERVISOR_BARGE_IN: 'supervisory',
  BARGE_IN_CONSULT: 'supervisory',
  SUPERVISOR_INTERCEPT: 'intercept',
  // Non-voice tasks routed by UCCE.
  TASK_ROUTED_BY_ICM: 'non_voice',
  TASK_ROUTED_BY_APPLICATION: 'non_voice',
  // The CTI protocol's "not valid".
  INVALID: 'unknown',
};

/** Finesse's name for a call type: upper case, no `CALLTYPE_` prefix, no stray spaces (the UCCX table has them). */
export const callTypeName = (raw: string): string =>
  raw
    .toUpperCase()
    .replace(/\s+/g, '')
    .replace(/^CALLTYPE_/, '');

/**
 * A voice dialog: `mediaType` Voice (or left out, as in older notifications). A chat, an e-mail or a task carries its
 * Media Routing Domain's name there instead (the `Media/{mrdId}/Dialogs` node, Finesse's Dialog object for nonvoice
 * tasks).
 */
export function isVoice(d: Pick<Dialog, 'mediaType'>): boolean {
  const m = (d.mediaType ?? '').trim().toLowerCase();
  return m === '' || m === 'voice';
}

/**
 * The class of a dialog for this agent. A dialog without a call type (older Finesse) is a customer call by its
 * addresses, as before; AGENT_INSIDE is `placed` only when this agent placed it (else another agent calls him).
 */
export function classify(d: Dialog, agentExtension: string): CallClass {
  if (!isVoice(d)) return 'non_voice';
  const name = callTypeName(d.callType);
  if (name === '') return d.fromAddress !== '' && d.fromAddress === agentExtension ? 'customer_out' : 'customer_in';
  const cls = CALL_TYPE_CLASSES[name] ?? 'unknown';
  if (cls === 'placed' && d.fromAddress !== agentExtension) return 'internal';
  // Another agent's own call ringing here (real desktops see OUT before the call is classified): between agents.
  if (cls === 'customer_out' && name === 'OUT' && d.fromAddress !== agentExtension && d.toAddress === agentExtension) return 'internal';
  return cls;
}

/** The classes whose dialogs are the agent's calls with a customer: popped and logged. */
export const isCustomerCall = (c: CallClass): boolean => c === 'customer_in' || c === 'customer_out' || c === 'campaign' || c === 'intercept';

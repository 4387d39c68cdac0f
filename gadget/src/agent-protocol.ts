/**
 * The messages between the gadget and the middleware over the agent session (README "Click-to-dial and call
 * logging"): one definition for both sides. Types only, so the middleware can import it without browser code.
 */

/** One agent's call as the gadget saw it in Finesse dialog events: the whole record so far, sent on every change. */
export interface CallReport {
  dialogId: string;
  direction: 'inbound' | 'outbound';
  /** The other party: the caller (inbound) or the dialled string (outbound). */
  number: string;
  /** The gadget's own clock, in ms, so a duration never mixes two clocks. */
  startedAt: number;
  answeredAt: number | null;
  endedAt: number | null;
  /** Finesse's stateCause of a FAILED outbound call: BUSY, BAD_DESTINATION, OTHER… */
  failure: string | null;
  /** The CRM record the UCCX script named (callVariable2 = TYPE:ID), if any. */
  crmRef: string | null;
  /**
   * The gadget first saw this dialog already over (it was reloaded, or opened mid-call): only its end is known. The
   * middleware uses it to close a call another report started, never to log a call of its own.
   */
  partial?: boolean;
  /**
   * A call the agent placed that has not left the switch so far (Finesse callType AGENT_INSIDE, never OUT): a call
   * to a colleague, or a dial that failed early. Logged only when it is a Bitrix24 click's call.
   */
  inside?: boolean;
}

/** A click in Bitrix24, for the agent's gadget to dial. */
export interface DialCommand {
  id: string;
  /** Bitrix24's CALL_ID of the click. */
  callId: string;
  toAddress: string;
  whenReady: 'switch' | 'refuse';
  reasonCodeId: number | null;
}

/** What the gadget reports back: 202 from Finesse, or why not. */
export type DialResult =
  | { ok: true }
  /** `state`: the agent's Finesse state that kept him from dialling (READY with "refuse", TALKING, …); "" when not signed in. */
  | { ok: false; code: 'agent_busy'; reason: string; state: string }
  | { ok: false; code: 'finesse_refused'; reason: string };

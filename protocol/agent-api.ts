/**
 * What the gadget and the middleware say to each other (docs/click-to-dial.md "Click-to-dial and call logging"): the routes of the
 * agent session and of the gadget's lookup, and the messages on them — one definition both sides import. No browser
 * and no server code here: the middleware never imports the gadget's folder, the gadget never the middleware's.
 */

/** The agent session's routes, under one prefix (the middleware mounts them there; the gadget calls them so). */
export const AGENT_API_PREFIX = '/api/agent';
export const AGENT_ROUTES = {
  /** POST: Finesse credentials → a session token. */
  session: '/session',
  /** GET (text/event-stream): dial commands for this agent. */
  commands: '/commands',
  /** POST a CallReport. */
  calls: '/calls',
  /** POST a DialResult for a command. */
  dialResult: '/dial-result',
  /** GET the dialog ids already popped for this agent; POST one. */
  popped: '/popped',
  /** GET ?type=&id=: a CRM record's name for the gadget. */
  record: '/record',
  /** POST a GadgetEvent: a pop and how it went, or the gadget's own error, for the call's trace. */
  events: '/events',
} as const;
export const agentPath = (route: keyof typeof AGENT_ROUTES) => AGENT_API_PREFIX + AGENT_ROUTES[route];

/** The JSON twin of the UCCX lookup, for the gadget (signed-in agents only). */
export const LOOKUP_JSON_PATH = '/api/lookup';

/** What LOOKUP_JSON_PATH answers (docs/uccx.md "The UCCX contract": the same fields as the XML, `entityId` a number). */
export interface LookupJson {
  route: 'agent' | 'queue';
  extension: string;
  status: 'found' | 'created' | 'pending' | 'degraded' | 'internal';
  entityType: string;
  entityId: number | null;
  responsibleId: number | null;
  phone: string;
  reason: string;
  crmRef: string;
  /** Every record of the winning type, best first (several: the agent picks). */
  matches: Array<{ entityType: string; entityId: number; name: string }>;
}

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

/** What the gadget reports back (POST to dialResult with `commandId`): 202 from Finesse, or why not. */
export type DialResult =
  | { ok: true }
  /** `state`: the agent's Finesse state that kept him from dialling (READY with "refuse", TALKING, …); "" when not signed in. */
  | { ok: false; code: 'agent_busy'; reason: string; state: string }
  | { ok: false; code: 'finesse_refused'; reason: string };

/**
 * What the gadget tells the middleware for the call's trace (docs/operations.md "Following a call"): the pop it made
 * — the record or script it opened, or why none — and its own errors, which would otherwise stay in the agent's
 * browser console. Bounded by the middleware (sizes, a rate per agent).
 */
export type GadgetEvent =
  | {
      kind: 'pop';
      dialogId: string;
      number: string;
      /** opened: a window; blocked: the pop-up blocker stopped it (the button is shown); picker: several records; none: nothing to open. */
      outcome: 'opened' | 'blocked' | 'picker' | 'none';
      /** CONTACT:42, LEAD:7, "script", or the reason nothing opened. */
      target: string;
    }
  | { kind: 'error'; message: string; dialogId?: string };

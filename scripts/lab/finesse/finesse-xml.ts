/**
 * Finesse-shaped XML, in the shapes real Finesse sends (conformance/finesse: a UCCE capture and CCE/CVP scenario
 * data): Dialog children in Finesse's order (associatedDialogUri, fromAddress, id, mediaProperties, mediaType,
 * participants, [secondaryId], state, toAddress, uri), all ten callVariable1..10 present (empty when unset) before
 * any ECC variable, DNIS = the agent's extension, empty elements written out. Lab code.
 */
export interface DialogSpec {
  id: string;
  state: string;
  from?: string;
  to?: string;
  callType?: string;
  vars?: Record<string, string>;
  participants?: Array<{ address: string; type?: string; state: string; cause?: string; actions?: string[] }>;
  tag?: 'Dialog' | 'dialog';
  /** DNIS: the agent's extension for a call routed to him; empty for a call he places. */
  dnis?: string;
  /** The number the caller dialled (route point / trigger). */
  dialedNumber?: string;
  /** Consult / conference: the dialog this one belongs with; after a transfer, the dropped call's id. */
  associatedDialogUri?: string;
  secondaryId?: string;
  queueName?: string;
  /** `Voice` unless a non-voice Media Routing Domain's name (a chat's, an e-mail's). */
  mediaType?: string;
  /** A campaign call's customer number without the dialer's prefix (CCE direct preview). */
  callbackNumber?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const el = (name: string, value: string | undefined) => `<${name}>${esc(value ?? '')}</${name}>`;

/** The actions Finesse offers a participant in a state (Finesse developer guide: dialog states and actions; real captures for ACTIVE in conformance/finesse). */
export function actionsFor(state: string, agent: boolean): string[] {
  switch (state) {
    case 'ALERTING':
      return agent ? ['ANSWER'] : ['UPDATE_CALL_DATA', 'DROP'];
    case 'INITIATING':
    case 'INITIATED':
      return ['UPDATE_CALL_DATA', 'DROP'];
    case 'ACTIVE':
      return ['TRANSFER_SST', 'CONSULT_CALL', 'HOLD', 'UPDATE_CALL_DATA', 'SEND_DTMF', 'DROP'];
    case 'HELD':
      return ['UPDATE_CALL_DATA', 'DROP', 'RETRIEVE'];
    case 'FAILED':
      return ['DROP'];
    default:
      return [];
  }
}

export function dialogXml(d: DialogSpec): string {
  const tag = d.tag ?? 'Dialog';
  const given = d.vars ?? {};
  const names = [...Array.from({ length: 10 }, (_, i) => `callVariable${i + 1}`), ...Object.keys(given).filter((n) => !/^callVariable([1-9]|10)$/.test(n))];
  const vars = names.map((n) => `<CallVariable>${el('name', n)}${el('value', given[n])}</CallVariable>`).join('');
  const parts = (d.participants ?? [])
    .map((p) => {
      const actions = (p.actions ?? actionsFor(p.state, p.type === 'AGENT_DEVICE')).map((a) => `<action>${a}</action>`).join('');
      return `<Participant><actions>${actions}</actions>${el('mediaAddress', p.address)}${el('mediaAddressType', p.type)}<startTime>2026-11-26T10:00:00.000Z</startTime>${el('state', p.state)}${el('stateCause', p.cause)}<stateChangeTime>2026-11-26T10:00:00.000Z</stateChangeTime></Participant>`;
    })
    .join('');
  const media = `<mediaProperties>${el('DNIS', d.dnis)}${el('callType', d.callType ?? 'ACD_IN')}${el('dialedNumber', d.dialedNumber)}<outboundClassification></outboundClassification>${d.queueName ? `${el('queueName', d.queueName)}` : ''}<callvariables>${vars}</callvariables></mediaProperties>`;
  const secondary = d.secondaryId ? el('secondaryId', d.secondaryId) : '';
  return `<${tag}>${el('associatedDialogUri', d.associatedDialogUri)}${d.callbackNumber ? el('callbackNumber', d.callbackNumber) : ''}${el('fromAddress', d.from)}${el('id', d.id)}${media}${el('mediaType', d.mediaType ?? 'Voice')}<participants>${parts}</participants>${secondary}${el('state', d.state)}${el('toAddress', d.to)}<uri>/finesse/api/Dialog/${d.id}</uri></${tag}>`;
}

export function updateXml(event: string, source: string, data: string, requestId = ''): string {
  return `<Update><data>${data}</data><event>${event}</event><requestId>${requestId}</requestId><source>${source}</source></Update>`;
}

/** Finesse's error body (Finesse developer guide: API errors). */
export function apiErrors(type: string, message: string, data = ''): string {
  return `<ApiErrors><ApiError><ErrorType>${esc(type)}</ErrorType><ErrorData>${esc(data)}</ErrorData><ErrorMessage>${esc(message)}</ErrorMessage></ApiError></ApiErrors>`;
}

/** POST (added) / DELETE (removed) on the agent's Dialogs collection, PUT on the dialog itself. */
export function dialogUpdate(agent: string, event: 'POST' | 'PUT' | 'DELETE', d: DialogSpec): string {
  return event === 'PUT' ? updateXml('PUT', `/finesse/api/Dialog/${d.id}`, dialogXml(d)) : updateXml(event, `/finesse/api/User/${agent}/Dialogs`, `<dialogs>${dialogXml(d)}</dialogs>`);
}

/** The pubsub event message as Prosody/Openfire sends it, the Update escaped inside <notification>. */
export function pubsubMessage(agent: string, update: string, to: string): string {
  return `<message from="pubsub.finesse.lab" to="${to}" type="headline" id="m${Date.now()}"><event xmlns="http://jabber.org/protocol/pubsub#event"><items node="/finesse/api/User/${agent}/Dialogs"><item id="i1"><notification xmlns="http://jabber.org/protocol/pubsub">${esc(update)}</notification></item></items></event></message>`;
}

/** A ringing inbound call to the agent on `extension` from `caller`, as Finesse shows it at CALL_DELIVERED. */
export function ringing(extension: string, id: string, caller: string, vars: Record<string, string> = {}): DialogSpec {
  return {
    id,
    state: 'ALERTING',
    from: caller,
    to: '5000',
    dnis: extension,
    dialedNumber: '5000',
    queueName: 'CSQ_Sales',
    vars,
    participants: [
      { address: extension, type: 'AGENT_DEVICE', state: 'ALERTING' },
      { address: caller, state: 'INITIATED' },
    ],
  };
}

/** Finesse-shaped XML (reference finesse.md §2.4, §3.4): a dialog, an Update around it, the XMPP message. Lab code. */
export interface DialogSpec {
  id: string;
  state: string;
  from?: string;
  to?: string;
  callType?: string;
  vars?: Record<string, string>;
  participants?: Array<{ address: string; type?: string; state: string; cause?: string; actions?: string[] }>;
  tag?: 'Dialog' | 'dialog';
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function dialogXml(d: DialogSpec): string {
  const tag = d.tag ?? 'Dialog';
  const vars = Object.entries(d.vars ?? {})
    .map(([n, v]) => `<CallVariable><name>${esc(n)}</name><value>${esc(v)}</value></CallVariable>`)
    .join('');
  const parts = (d.participants ?? [])
    .map(
      (p) =>
        `<Participant><actions>${(p.actions ?? ['ANSWER']).map((a) => `<action>${a}</action>`).join('')}</actions><mediaAddress>${p.address}</mediaAddress><mediaAddressType>${p.type ?? ''}</mediaAddressType><startTime>2026-11-26T10:00:00.000Z</startTime><state>${p.state}</state>${p.cause ? `<stateCause>${p.cause}</stateCause>` : '<stateCause/>'}<stateChangeTime>2026-11-26T10:00:00.000Z</stateChangeTime></Participant>`,
    )
    .join('');
  return `<${tag}><associatedDialogUri/><id>${d.id}</id><secondaryId/><mediaType>Voice</mediaType><fromAddress>${d.from ?? ''}</fromAddress><toAddress>${d.to ?? ''}</toAddress><mediaProperties><mediaId>1</mediaId><dialedNumber>5000</dialedNumber><callType>${d.callType ?? 'ACD_IN'}</callType><DNIS>5000</DNIS><queueName>CSQ_Sales</queueName><callvariables>${vars}</callvariables></mediaProperties><participants>${parts}</participants><state>${d.state}</state><uri>/finesse/api/Dialog/${d.id}</uri></${tag}>`;
}

export function updateXml(event: string, source: string, data: string, requestId = ''): string {
  return `<Update><data>${data}</data><event>${event}</event><requestId>${requestId}</requestId><source>${source}</source></Update>`;
}

/** Finesse's error body (reference finesse.md §2.3). */
export function apiErrors(type: string, message: string, data = ''): string {
  return `<ApiErrors><ApiError><ErrorType>${esc(type)}</ErrorType><ErrorData>${esc(data)}</ErrorData><ErrorMessage>${esc(message)}</ErrorMessage></ApiError></ApiErrors>`;
}

/** POST (added) / DELETE (removed) on the agent's Dialogs collection, PUT on the dialog itself. */
export function dialogUpdate(agent: string, event: 'POST' | 'PUT' | 'DELETE', d: DialogSpec): string {
  return event === 'PUT'
    ? updateXml('PUT', `/finesse/api/Dialog/${d.id}`, dialogXml(d))
    : updateXml(event, `/finesse/api/User/${agent}/Dialogs`, `<dialogs>${dialogXml(d)}</dialogs>`);
}

/** The pubsub event message as Prosody/Openfire sends it, the Update escaped inside <notification>. */
export function pubsubMessage(agent: string, update: string, to: string): string {
  return `<message from="pubsub.finesse.lab" to="${to}" type="headline" id="m${Date.now()}"><event xmlns="http://jabber.org/protocol/pubsub#event"><items node="/finesse/api/User/${agent}/Dialogs"><item id="i1"><notification xmlns="http://jabber.org/protocol/pubsub">${esc(update)}</notification></item></items></event></message>`;
}

/** A ringing inbound call to `agent` from `caller`, as Finesse shows it at CALL_DELIVERED. */
export function ringing(agent: string, id: string, caller: string, vars: Record<string, string> = {}): DialogSpec {
  return {
    id,
    state: 'ALERTING',
    from: caller,
    to: '5000',
    vars,
    participants: [
      { address: agent, type: 'AGENT_DEVICE', state: 'ALERTING' },
      { address: caller, state: 'INITIATED' },
    ],
  };
}

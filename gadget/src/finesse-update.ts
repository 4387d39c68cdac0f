/**
 * One parser for Finesse `<Update>` notifications (reference finesse.md §3.4–3.5), in our own shapes: the escaped
 * text or an already-decoded element, element names in any case, 0..n participants and call variables, collection
 * (POST/DELETE) or single dialog (PUT), `<apiErrors>`. Malformed input is a ParseError the caller logs and drops.
 * Pure: the XML parser is injected (the browser's DOMParser by default).
 */
export interface Participant {
  mediaAddress: string;
  mediaAddressType: string;
  state: string;
  stateCause: string;
}

export interface Dialog {
  id: string;
  state: string;
  fromAddress: string;
  toAddress: string;
  callType: string;
  dnis: string;
  queueName: string;
  callVariables: Record<string, string>;
  participants: Participant[];
}

export type UpdateEvent = 'POST' | 'PUT' | 'DELETE';

export type FinesseUpdate =
  | { kind: 'dialogs'; event: UpdateEvent; source: string; requestId: string; dialogs: Dialog[] }
  | { kind: 'apiErrors'; event: UpdateEvent; source: string; requestId: string; errors: string[] }
  | { kind: 'other'; event: UpdateEvent; source: string; requestId: string };

export class ParseError extends Error {}

export type XmlParser = (xml: string) => Document;

const defaultParser: XmlParser = (xml) => new DOMParser().parseFromString(xml, 'text/xml');

const lower = (n: { nodeName: string }) => n.nodeName.toLowerCase();

function children(el: Element, name?: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (name === undefined || lower(n) === name)) out.push(n as Element);
  }
  return out;
}

const child = (el: Element | undefined, name: string): Element | undefined => (el ? children(el, name)[0] : undefined);
const text = (el: Element | undefined): string => (el?.textContent ?? '').trim();

function readDialog(el: Element): Dialog {
  const media = child(el, 'mediaproperties');
  const callVariables: Record<string, string> = {};
  for (const v of children(child(media, 'callvariables') ?? el.ownerDocument.createElement('x'), 'callvariable')) {
    const name = text(child(v, 'name'));
    if (name) callVariables[name] = text(child(v, 'value'));
  }
  const participants = children(child(el, 'participants') ?? el.ownerDocument.createElement('x'), 'participant').map((p) => ({
    mediaAddress: text(child(p, 'mediaaddress')),
    mediaAddressType: text(child(p, 'mediaaddresstype')),
    state: text(child(p, 'state')).toUpperCase(),
    stateCause: text(child(p, 'statecause')),
  }));
  const id = text(child(el, 'id'));
  if (!id) throw new ParseError('Dialog without id');
  return {
    id,
    state: text(child(el, 'state')).toUpperCase(),
    fromAddress: text(child(el, 'fromaddress')),
    toAddress: text(child(el, 'toaddress')),
    callType: text(child(media, 'calltype')).toUpperCase(),
    dnis: text(child(media, 'dnis')),
    queueName: text(child(media, 'queuename')),
    callVariables,
    participants,
  };
}

/** Finds the <Update> element in a notification: escaped text, decoded XML, or the element itself. */
function updateElement(input: string | Element, parse: XmlParser): Element {
  if (typeof input !== 'string') {
    if (lower(input) === 'update') return input;
    const inner = children(input, 'update')[0];
    if (inner) return inner;
    return updateElement(input.textContent ?? '', parse); // <notification> holding escaped text
  }
  const trimmed = input.trim();
  if (!trimmed.startsWith('<')) throw new ParseError('not XML');
  let doc: Document;
  try {
    doc = parse(trimmed);
  } catch (err) {
    throw new ParseError(`malformed XML: ${(err as Error).message}`);
  }
  const root = doc.documentElement;
  if (!root || lower(root) === 'parsererror' || doc.getElementsByTagName('parsererror').length > 0) throw new ParseError('malformed XML');
  return updateElement(root, parse);
}

export function parseUpdate(input: string | Element, parse: XmlParser = defaultParser): FinesseUpdate {
  const update = updateElement(input, parse);
  const event = text(child(update, 'event')).toUpperCase();
  if (event !== 'POST' && event !== 'PUT' && event !== 'DELETE') throw new ParseError(`unknown event "${event}"`);
  const source = text(child(update, 'source'));
  const requestId = text(child(update, 'requestid'));
  const data = child(update, 'data');
  if (!data) throw new ParseError('Update without data');
  const apiErrors = child(data, 'apierrors');
  if (apiErrors) {
    return { kind: 'apiErrors', event, source, requestId, errors: children(apiErrors, 'apierror').map((e) => text(child(e, 'errormessage')) || text(e)) };
  }
  const collection = child(data, 'dialogs');
  const single = child(data, 'dialog');
  if (collection) return { kind: 'dialogs', event, source, requestId, dialogs: children(collection, 'dialog').map(readDialog) };
  if (single) return { kind: 'dialogs', event, source, requestId, dialogs: [readDialog(single)] };
  return { kind: 'other', event, source, requestId };
}

/** The body of GET /finesse/api/User/{id}/Dialogs: <Dialogs><Dialog>…</Dialog>…</Dialogs>. */
export function parseDialogList(xml: string, parse: XmlParser = defaultParser): Dialog[] {
  let doc: Document;
  try {
    doc = parse(xml.trim());
  } catch (err) {
    throw new ParseError(`malformed XML: ${(err as Error).message}`);
  }
  const root = doc.documentElement;
  if (!root || lower(root) !== 'dialogs') throw new ParseError('expected <Dialogs>');
  return children(root, 'dialog').map(readDialog);
}

/** The hub topic the desktop relays a node on: "/finesse/api/User/1001/Dialogs" → "finesse.api.User.1001.Dialogs". */
export const topicOf = (node: string) => node.replace(/^\//, '').replace(/\//g, '.');

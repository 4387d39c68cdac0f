import { NamedError } from '../../protocol/named-error';
/**
 * One parser for Finesse `<Update>` notifications (Cisco Finesse developer guide, "Notifications"; conformance/finesse), in our own shapes: the escaped
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
  /** `Voice`, or a non-voice Media Routing Domain's name (chat, e-mail); '' when Finesse leaves it out. */
  mediaType?: string;
  /** The dialog this one is linked to (a consult's original call), as its URI; '' when none. */
  associatedDialogUri?: string;
  /** A campaign call's customer number without the dialer's prefix (CCE direct preview); '' when none. */
  callbackNumber?: string;
  /** After a transfer or conference: the id of the call this dialog continues; '' when none. */
  secondaryId?: string;
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

export class ParseError extends NamedError {}

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
    mediaType: text(child(el, 'mediatype')),
    associatedDialogUri: text(child(el, 'associateddialoguri')),
    callbackNumber: text(child(el, 'callbacknumber')),
    secondaryId: text(child(el, 'secondaryid')),
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

/**
 * The XML of a notification as the Finesse desktop relays it on the hub (finesse.js MasterPublisher,
 * finesse.js in github.com/CiscoDevNet/finesse-sample-code, conformance/finesse): `{content, object}` where `content` is the whole tunnel string,
 * node path first (`/finesse/api/User/1001/Dialogs<Update>…`, or node + `{…}` for JSON payloads) and `object` the
 * payload already parsed (`{Update: {data: …}}`). Also takes a bare string, and a relay with only `object`.
 */
export function relayedXml(data: unknown): string {
  const relay = (typeof data === 'string' ? { content: data } : data) as { content?: unknown; object?: unknown } | null;
  if (!relay || typeof relay !== 'object') throw new ParseError('relayed notification is neither a string nor {content, object}');
  if (typeof relay.content === 'string' && relay.content.trim()) {
    const body = withoutNode(relay.content.trim());
    if (body.startsWith('<')) return body;
    try {
      return objectToXml(JSON.parse(body));
    } catch (err) {
      if (err instanceof ParseError) throw err;
      if (!relay.object) throw new ParseError(`relayed JSON payload is malformed: ${(err as Error).message}`);
    }
  }
  if (relay.object && typeof relay.object === 'object') return objectToXml(relay.object);
  throw new ParseError('relayed notification carries neither content nor object');
}

/** finesse.js tells JSON from XML by the payload ending in "}" with a "{" before it; the node path precedes either. */
function withoutNode(content: string): string {
  const json = content.endsWith('}') && content.includes('{');
  const at = json ? content.indexOf('{') : content.indexOf('<');
  if (at < 0) throw new ParseError('relayed content holds neither XML nor JSON');
  return content.slice(at);
}

/**
 * The inverse of finesse.js's XML → object conversion (Goessner's xml2json, in Finesse since 9.1): a key per
 * element, repeated elements as arrays, empty elements as null, text as strings, `@attr` and `#text` kept. Our
 * parser then reads it like any other notification. Hand-written: it is this one library's shape, not a format.
 */
export function objectToXml(value: unknown, name?: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (name === undefined) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ParseError('relayed object is not an element');
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => objectToXml(v, k))
      .join('');
  }
  if (!/^[A-Za-z_][\w.\-]*$/.test(name)) throw new ParseError(`relayed object has an odd element name "${name.slice(0, 40)}"`);
  if (Array.isArray(value)) return value.map((v) => objectToXml(v, name)).join('');
  if (value === null || value === undefined) return `<${name}/>`;
  if (typeof value !== 'object') return `<${name}>${esc(String(value))}</${name}>`;
  const entries = Object.entries(value as Record<string, unknown>);
  const attrs = entries
    .filter(([k]) => k.startsWith('@'))
    .map(([k, v]) => ` ${k.slice(1)}="${esc(String(v)).replace(/"/g, '&quot;')}"`)
    .join('');
  const inner = entries
    .filter(([k]) => !k.startsWith('@'))
    .map(([k, v]) => (k === '#text' || k === '#cdata' ? esc(String(v)) : objectToXml(v, k)))
    .join('');
  return `<${name}${attrs}>${inner}</${name}>`;
}

/** The hub topic the desktop relays a node on: "/finesse/api/User/1001/Dialogs" → "finesse.api.User.1001.Dialogs". */
export const topicOf = (node: string) => node.replace(/^\//, '').replace(/\//g, '.');

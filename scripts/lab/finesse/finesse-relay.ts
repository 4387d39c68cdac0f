/**
 * How the Finesse desktop hands a notification to its gadgets, re-implemented for the lab desktop from finesse.js
 * (CiscoDevNet/finesse-sample-code, FinesseJavaScriptLibrary 10.5.1: MasterPublisher._eventHandler,
 * _parseAndPublishXMLEvent / _parseAndPublishJSONEvent, Converter.xml2json; conformance/finesse/INDEX.md):
 *  - the tunnel string is `<node path><payload>`; JSON when it ends in "}" and holds a "{", else XML;
 *  - no node path before the payload, or a payload that does not parse: logged and NOT published;
 *  - published as `{content: <the whole tunnel string>, object: <payload parsed>}` on topic node "/" → ".";
 *  - XML is parsed by Goessner's xml2json: whitespace-only text removed everywhere first; an element's children
 *    become keys (a repeated name an array), text-only elements strings, empty elements null, attributes "@name".
 * Plain JavaScript in a string: the lab desktop page runs it as is, and the tests run the very same text in node
 * (with @xmldom/xmldom's DOMParser) against the real payloads of the corpus. Lab code.
 */
export const FINESSE_RELAY_JS = String.raw`
function fb24XmlToObject(el) {
  function clean(e) {
    for (var n = e.firstChild; n;) {
      var next = n.nextSibling;
      if (n.nodeType === 3 && !/[^ \f\n\r\t\v]/.test(n.nodeValue)) e.removeChild(n);
      else if (n.nodeType === 1) clean(n);
      n = next;
    }
  }
  function toObj(x) {
    var o = {}, i, n, texts = 0, cdatas = 0, elements = false;
    for (i = 0; i < x.attributes.length; i++) o['@' + x.attributes[i].nodeName] = String(x.attributes[i].nodeValue || '');
    if (!x.firstChild) return x.attributes.length ? o : null;
    for (n = x.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === 1) elements = true;
      else if (n.nodeType === 3 && /[^ \f\n\r\t\v]/.test(n.nodeValue)) texts++;
      else if (n.nodeType === 4) cdatas++;
    }
    var text = '';
    for (n = x.firstChild; n; n = n.nextSibling) if (n.nodeType === 3 || n.nodeType === 4) text += n.nodeValue;
    if (elements) {
      for (n = x.firstChild; n; n = n.nextSibling) {
        if (n.nodeType === 3) o['#text'] = n.nodeValue;
        else if (n.nodeType === 4) o['#cdata'] = n.nodeValue;
        else if (n.nodeType === 1) {
          var v = toObj(n);
          if (Object.prototype.hasOwnProperty.call(o, n.nodeName) && o[n.nodeName] !== null) {
            if (Array.isArray(o[n.nodeName])) o[n.nodeName].push(v); else o[n.nodeName] = [o[n.nodeName], v];
          } else o[n.nodeName] = v;
        }
      }
      return o;
    }
    if (texts || cdatas) {
      if (!x.attributes.length) return text;
      o['#text'] = text;
    }
    return o;
  }
  clean(el);
  var out = {};
  out[el.nodeName] = toObj(el);
  return out;
}
function fb24FinesseRelay(tunnel, parseXml) {
  var json = tunnel.indexOf('{') !== -1 && tunnel.lastIndexOf('}') === tunnel.length - 1;
  var at = tunnel.indexOf(json ? '{' : '<');
  if (at <= 0) throw new Error('node is not given in postMessage: ' + tunnel.slice(0, 80));
  var node = decodeURI(tunnel.slice(0, at)), payload = tunnel.slice(at), object;
  if (json) object = JSON.parse(payload);
  else {
    var doc = parseXml(payload);
    if (!doc || !doc.documentElement || doc.getElementsByTagName('parsererror').length) throw new Error('Malformed event payload');
    object = fb24XmlToObject(doc.documentElement);
  }
  return { topic: node.replace(/^\//, '').replace(/\//g, '.'), data: { content: tunnel, object: object } };
}
`;

export interface RelayedEvent {
  topic: string;
  data: { content: string; object: unknown };
}

/** The relay as node runs it (tests): the same JavaScript the lab desktop page runs. */
export function finesseRelay(tunnel: string, parseXml: (xml: string) => unknown): RelayedEvent {
  const make = new Function(`${FINESSE_RELAY_JS}; return fb24FinesseRelay;`) as () => (t: string, p: (xml: string) => unknown) => RelayedEvent;
  return make()(tunnel, parseXml);
}

// Deep modules of xmpp.js that the BOSH transport reuses, as @xmpp/websocket does; they ship no types.
declare module '@xmpp/websocket/lib/FramedParser.js' {
  import { Parser } from '@xmpp/xml';
  export default class FramedParser extends Parser {}
}
declare module '@xmpp/xml/lib/parse.js' {
  import type { Element } from '@xmpp/xml';
  export default function parse(data: string): Element;
}

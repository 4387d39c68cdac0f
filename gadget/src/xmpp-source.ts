import { client, xml, type Client } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import type { ConnectionState, NotificationSource, SourceHandlers } from './notification-source';

/**
 * Outside the desktop: our own XMPP session with Finesse's notification service, over WebSocket (Finesse 12.5+)
 * or BOSH (older Finesse; `bosh.ts`), picked by the URL. A resource of our own (never "desktop", which the
 * Finesse desktop owns) and presence with priority 0, or Finesse delivers nothing.
 */
export interface XmppOptions {
  service: string;
  domain: string;
  username: string;
  password: string;
  /** Extra transports (BOSH); the client picks the first that accepts the service URL. */
  transports?: unknown[];
  resource?: string;
  /** Client ping (XEP-0199) interval: Cisco documents a client ping every 20 s on every connection. */
  pingMs?: number;
}

const NS_EVENT = 'http://jabber.org/protocol/pubsub#event';
const RETRY_MS = 2000;
const PING_MS = 20_000;

/**
 * The notification service to use among those given (comma-separated): WebSocket where one is given — Finesse 12.5+
 * documents it and lists BOSH as deprecated — else BOSH (Finesse 11.x/12.0).
 */
export function chooseService(given: string): string {
  const list = given
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list.find((s) => /^wss?:\/\//i.test(s)) ?? list[0] ?? '';
}

export function transportKind(service: string): 'websocket' | 'bosh' {
  if (/^wss?:\/\//i.test(service)) return 'websocket';
  if (/^https?:\/\//i.test(service)) return 'bosh';
  throw new Error(`xmpp: expected a ws(s):// or http(s)://…/http-bind URL, got ${service}`);
}

/** The Update carried by a pubsub event: escaped text (the usual) or decoded children. */
export function updatesOf(stanza: Element): Array<string> {
  if (!stanza.is('message')) return [];
  const items = stanza.getChild('event', NS_EVENT)?.getChild('items');
  return (items?.getChildren('item') ?? []).flatMap((item) => {
    const n = item.getChild('notification');
    if (!n) return [];
    const decoded = n.getChildren('Update')[0] ?? n.getChildren('update')[0];
    return [decoded ? decoded.toString() : n.text()];
  });
}

export class XmppSource implements NotificationSource {
  readonly kind: 'websocket' | 'bosh';
  private xmpp: Client | null = null;
  private wasOnline = false;
  private stopped = false;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private pinger: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly o: XmppOptions) {
    this.kind = transportKind(o.service);
  }

  start(h: SourceHandlers): void {
    this.stopped = false;
    const x = client({
      service: this.o.service,
      domain: this.o.domain,
      resource: this.o.resource ?? `fb24-${Math.random().toString(36).slice(2, 8)}`,
      credentials: (auth: (c: { username: string; password: string }, mechanism: string) => Promise<void>) => auth({ username: this.o.username, password: this.o.password }, 'PLAIN'),
    } as Parameters<typeof client>[0]);
    const transports = (x as unknown as { transports: unknown[] }).transports;
    for (const t of this.o.transports ?? []) transports.unshift(t);
    this.xmpp = x;
    const state = (s: ConnectionState) => h.state(s);
    let lastError = '';
    x.on('error', (err: Error) => {
      lastError = err.message;
    });
    const ping = () => x.iqCaller.request(xml('iq', { type: 'get', to: this.o.domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })), this.o.pingMs ?? PING_MS);
    x.on('status', (status: string) => {
      if (status === 'connecting' || status === 'opening') state({ status: this.wasOnline ? 'reconnecting' : 'connecting', reason: lastError || undefined });
      if (status === 'disconnect' && !this.stopped) state({ status: 'reconnecting', reason: lastError || 'connection lost' });
      if (status !== 'online') this.stopPinging();
    });
    x.on('online', async () => {
      try {
        await x.send(xml('presence', {}, xml('priority', {}, '0')));
        // A round trip after the presence: once answered, the server counts us available and delivers events.
        await ping();
      } catch (err) {
        lastError = (err as Error).message;
      }
      state({ status: 'connected' });
      if (this.wasOnline) h.resync(); // events may have been missed while away
      this.wasOnline = true;
      lastError = '';
      // A connection can die without a word (a NAT, a proxy): a ping unanswered within its interval ends it, and
      // the reconnect plugin opens a new one.
      this.stopPinging();
      this.pinger = setInterval(() => {
        ping().catch((err: Error) => {
          if (this.stopped || x.status !== 'online') return;
          lastError = `ping: ${err.message}`;
          void x.disconnect().catch(() => undefined);
        });
      }, this.o.pingMs ?? PING_MS);
    });
    x.on('stanza', (stanza: Element) => {
      for (const u of updatesOf(stanza)) h.update(u);
    });
    const begin = () => {
      x.start().catch((err: Error) => {
        if (this.stopped) return;
        const auth = /not-authorized|SASL/i.test(err.message);
        state({ status: auth ? 'failed' : 'reconnecting', reason: err.message });
        // A refused login is final; anything else is tried again (the reconnect plugin only covers drops).
        if (!auth)
          this.retry = setTimeout(() => {
            if (!this.stopped && x.status === 'offline') begin();
          }, RETRY_MS);
      });
    };
    begin();
  }

  private stopPinging(): void {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = null;
  }

  stop(): void {
    this.stopped = true;
    this.stopPinging();
    if (this.retry) clearTimeout(this.retry);
    void this.xmpp?.stop().catch(() => undefined);
  }
}

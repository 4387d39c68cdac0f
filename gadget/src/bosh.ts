import Connection from '@xmpp/connection';
import { EventEmitter } from '@xmpp/events';
import { Element } from '@xmpp/xml';
import parse from '@xmpp/xml/lib/parse.js';
import FramedParser from '@xmpp/websocket/lib/FramedParser.js';
import { TimerSet } from '../../protocol/timer-set';

/**
 * BOSH (XEP-0124/0206) for @xmpp/client, which has none: a transport plug-in shaped like @xmpp/websocket — a
 * Connection subclass with the RFC 7395 <open/>/<close/> framing, and a socket that carries that framing over HTTP.
 * Older Finesse (≤ 12.0) offers notifications over BOSH only (`/http-bind`).
 *
 * The socket keeps at most `requests` (normally 2) requests out: one long-poll always, plus one carrying what the
 * client wrote. Every request has a `rid` one above the last; answers are handed on strictly in `rid` order. A
 * request that fails on the network or times out (`wait` + margin) is sent again with the same `rid` and body;
 * after the retries, or on HTTP 400/403/404 (the session is gone) or a `terminate` body, the socket closes and
 * @xmpp/reconnect starts a new session.
 */
const NS_BOSH = 'http://jabber.org/protocol/httpbind';
const NS_XBOSH = 'urn:xmpp:xbosh';
const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
const NS_STREAM = 'http://etherx.jabber.org/streams';

export interface BoshTuning {
  /** Long-poll wait we ask for, seconds. */
  wait: number;
  /** Added to `wait` before a request counts as lost, ms. */
  marginMs: number;
  /** Re-sends of one request before the session is given up. */
  retries: number;
  /** First retry delay, doubled each time, ms. */
  retryDelayMs: number;
}

export const BOSH_DEFAULTS: BoshTuning = { wait: 30, marginMs: 10_000, retries: 3, retryDelayMs: 250 };

type Kind = 'create' | 'restart' | 'data' | 'poll' | 'terminate';

const attrs = (a: Record<string, string | number | undefined>) =>
  Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}='${String(v).replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/</g, '&lt;')}'`)
    .join(' ');

/** A stanza taken out of <body> keeps the namespaces it inherited there. */
function standalone(child: Element, body: Element): Element {
  const [prefix] = child.name.includes(':') ? child.name.split(':') : [];
  if (prefix) child.attrs[`xmlns:${prefix}`] ??= body.attrs[`xmlns:${prefix}`] ?? (prefix === 'stream' ? NS_STREAM : undefined);
  else child.attrs.xmlns ??= 'jabber:client';
  return child;
}

export class BoshSocket extends EventEmitter {
  static tuning: BoshTuning = BOSH_DEFAULTS;
  url = '';
  sid: string | null = null;
  private rid = 0;
  private nextToHandOn = 0;
  private inflight = 0;
  private maxRequests = 2;
  private wait: number;
  private queue: string[] = [];
  private answers = new Map<number, { kind: Kind; body: Element }>();
  private aborts = new Set<AbortController>();
  private readonly timers = new TimerSet();
  private stream = { to: '', lang: 'en' };
  private ended = false;
  /** We asked to end the session: the server's terminate answers are a clean close. */
  private terminating = false;
  private readonly tuning = BoshSocket.tuning;
  /** Every rid sent, in order, with its kind: tests read it. */
  readonly sent: Array<{ rid: number; kind: Kind }> = [];

  constructor() {
    super();
    this.wait = this.tuning.wait;
  }

  connect(url: string): void {
    this.url = url;
    this.ended = false;
    this.terminating = false;
    this.rid = Math.floor(Math.random() * 2 ** 31) + 1000;
    this.nextToHandOn = this.rid;
    // Nothing to dial: the session begins with the first request, when the client opens the stream.
    queueMicrotask(() => this.emit('connect'));
  }

  write(data: string, done?: (err?: Error) => void): void {
    try {
      if (/^<open[\s>/]/.test(data)) this.open(parse(data));
      else if (/^<close[\s>/]/.test(data)) this.terminate();
      else {
        this.queue.push(data);
        this.pump();
      }
      if (done) queueMicrotask(() => done());
    } catch (err) {
      if (done) queueMicrotask(() => done(err as Error));
    }
  }

  end(): void {
    this.terminate();
  }

  private open(header: Element): void {
    this.stream = { to: String(header.attrs.to ?? this.stream.to), lang: String(header.attrs['xml:lang'] ?? 'en') };
    this.request(this.sid ? 'restart' : 'create');
  }

  private terminate(): void {
    if (this.ended) return;
    if (!this.sid) return this.close(true);
    this.terminating = true;
    this.request('terminate', this.queue.splice(0).join(''));
  }

  private pump(): void {
    if (this.ended || !this.sid) return;
    while (this.inflight < this.maxRequests) {
      if (this.queue.length) this.request('data', this.queue.splice(0).join(''));
      else if (this.inflight === 0) this.request('poll');
      else break;
    }
  }

  private request(kind: Kind, payload = ''): void {
    const rid = this.rid++;
    const head =
      kind === 'create'
        ? attrs({
            content: 'text/xml; charset=utf-8',
            hold: 1,
            rid,
            to: this.stream.to,
            ver: '1.6',
            wait: this.wait,
            'xml:lang': this.stream.lang,
            'xmpp:version': '1.0',
            xmlns: NS_BOSH,
            'xmlns:xmpp': NS_XBOSH,
          })
        : kind === 'restart'
          ? attrs({ rid, sid: this.sid!, to: this.stream.to, 'xml:lang': this.stream.lang, 'xmpp:restart': 'true', xmlns: NS_BOSH, 'xmlns:xmpp': NS_XBOSH })
          : attrs({ rid, sid: this.sid!, type: kind === 'terminate' ? 'terminate' : undefined, xmlns: NS_BOSH });
    this.inflight += 1;
    this.sent.push({ rid, kind });
    void this.attempt(rid, kind, `<body ${head}>${payload}</body>`, 0);
  }

  private async attempt(rid: number, kind: Kind, body: string, tries: number): Promise<void> {
    if (this.ended) return;
    const abort = new AbortController();
    this.aborts.add(abort);
    const timer = setTimeout(() => abort.abort(), this.wait * 1000 + this.tuning.marginMs);
    try {
      const res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body, signal: abort.signal });
      const text = await res.text();
      if ([400, 403, 404].includes(res.status)) return this.fail(new Error(`BOSH: HTTP ${res.status}, the session is gone`));
      if (!res.ok) throw new Error(`BOSH: HTTP ${res.status}`);
      const answer = parse(text);
      if (answer.name !== 'body') throw new Error('BOSH: the answer is not a <body>');
      this.handOn(rid, kind, answer);
    } catch (err) {
      if (this.ended) return;
      if (tries < this.tuning.retries) {
        this.timers.later(this.tuning.retryDelayMs * 2 ** tries, () => void this.attempt(rid, kind, body, tries + 1)); // same rid, same body
        return;
      }
      this.fail(err as Error);
    } finally {
      clearTimeout(timer);
      this.aborts.delete(abort);
    }
  }

  /** Answers arrive in any order; the client sees them in rid order. */
  private handOn(rid: number, kind: Kind, body: Element): void {
    this.answers.set(rid, { kind, body });
    let next = this.answers.get(this.nextToHandOn);
    while (next && !this.ended) {
      this.answers.delete(this.nextToHandOn);
      this.nextToHandOn += 1;
      this.inflight -= 1;
      this.receive(next.kind, next.body);
      next = this.answers.get(this.nextToHandOn);
    }
    this.pump();
  }

  private receive(kind: Kind, body: Element): void {
    if (kind === 'create') {
      this.sid = String(body.attrs.sid ?? '');
      if (!this.sid) return this.fail(new Error('BOSH: no sid in the session answer'));
      this.wait = Number(body.attrs.wait) || this.wait;
      this.maxRequests = Math.max(1, Math.min(2, Number(body.attrs.requests) || 2));
    }
    if (kind === 'create' || kind === 'restart') {
      this.emit('data', `<open ${attrs({ xmlns: NS_FRAMING, from: String(body.attrs.from ?? this.stream.to), id: this.sid!, version: '1.0', 'xml:lang': this.stream.lang })}/>`);
    }
    for (const child of body.children) if (typeof child !== 'string') this.emit('data', standalone(child, body).toString());
    if (body.attrs.type === 'terminate' || kind === 'terminate') this.close(this.terminating, body.attrs.condition ? String(body.attrs.condition) : undefined);
  }

  private fail(err: Error): void {
    if (this.ended) return;
    // Ending anyway: a lost terminate needs no error, the session is over for both sides.
    if (this.terminating) return this.close(true);
    this.emit('error', err);
    this.close(false);
  }

  private close(clean: boolean, condition?: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const a of this.aborts) a.abort();
    this.aborts.clear();
    this.timers.clear();
    if (clean) this.emit('data', `<close xmlns='${NS_FRAMING}'/>`);
    this.sid = null;
    this.emit('close', !clean, { condition });
  }
}

export class BoshConnection extends Connection {
  override send(element: Element, ...args: unknown[]): Promise<void> {
    element.attrs.xmlns ??= 'jabber:client';
    return (super.send as (e: Element, ...a: unknown[]) => Promise<void>)(element, ...args);
  }

  async sendMany(elements: Element[]): Promise<void> {
    for (const element of elements) await this.send(element);
  }

  override footerElement(): Element {
    return new Element('close', { xmlns: NS_FRAMING });
  }

  override headerElement(): Element {
    const el = super.headerElement();
    el.name = 'open';
    el.attrs.xmlns = NS_FRAMING;
    return el;
  }

  override socketParameters(service: string): string | undefined {
    return /^https?:\/\//i.test(service) ? service : undefined;
  }
}

Object.assign(BoshConnection.prototype, { Socket: BoshSocket, NS: 'jabber:client', Parser: FramedParser });

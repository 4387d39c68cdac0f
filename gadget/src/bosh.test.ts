import { client, xml, type Client } from '@xmpp/client';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LAB_AGENTS } from '../../scripts/lab/finesse/finesse-emulator';
import { dialogUpdate, ringing } from '../../scripts/lab/finesse/finesse-xml';
import { ProsodyServer } from '../../scripts/lab/finesse/prosody';
import { PubsubPublisher } from '../../scripts/lab/finesse/pubsub-publisher';
import { waitFor } from '../../testing/wait';
import { BoshConnection, BoshSocket } from './bosh';
import { updatesOf } from './xmpp-source';

BoshSocket.tuning = { wait: 5, marginMs: 2000, retries: 3, retryDelayMs: 100 };

function boshClient(service: string, domain: string): Client {
  const x = client({
    service,
    domain,
    resource: 'fb24-bosh-test',
    credentials: (auth: (c: object, m: string) => Promise<void>) => auth({ username: '1001', password: 'lab' }, 'PLAIN'),
  } as Parameters<typeof client>[0]);
  (x as unknown as { transports: unknown[] }).transports.unshift(BoshConnection);
  x.on('error', () => undefined);
  return x;
}

/** Available, and the server has processed it (ping round trip), before anything is published. */
async function available(x: Client, domain: string): Promise<void> {
  await x.send(xml('presence', {}, xml('priority', {}, '0')));
  await x.iqCaller.request(xml('iq', { type: 'get', to: domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
}

const nextUpdate = (x: Client) =>
  new Promise<string>((resolve) => {
    const on = (st: Parameters<typeof updatesOf>[0]) => {
      const [u] = updatesOf(st);
      if (u) {
        x.removeListener('stanza', on);
        resolve(u);
      }
    };
    x.on('stanza', on);
  });

describe('BOSH transport against Prosody', () => {
  const prosody = new ProsodyServer(
    'finesse.lab',
    LAB_AGENTS.map((a) => ({ username: a.id, password: a.password })),
  );
  const publisher = new PubsubPublisher(prosody);
  let x: Client;
  beforeAll(async () => {
    await prosody.start();
    await publisher.start(['1001']);
  });
  afterAll(async () => {
    await x?.stop().catch(() => undefined);
    await publisher.stop();
    await prosody.dispose();
  });

  it('logs in over /http-bind, sends presence and receives the agent notifications', async () => {
    x = boshClient(prosody.boshUrl, prosody.domain);
    await x.start();
    await available(x, prosody.domain);
    const update = dialogUpdate('1001', 'POST', ringing('1021', '5001', '79001112233'));
    const got = nextUpdate(x);
    publisher.publish('1001', update);
    expect(await got).toBe(update);
  });

  it('after the server restarts, opens a new session by itself and receives again', async () => {
    const back = new Promise<void>((resolve) => x.once('online', () => resolve()));
    await prosody.stop();
    await prosody.start();
    await back;
    await available(x, prosody.domain);
    const update = dialogUpdate('1001', 'PUT', { ...ringing('1021', '5001', '79001112233'), state: 'ACTIVE' });
    const got = nextUpdate(x);
    // The publisher reconnects too; publish until it is back.
    const timer = setInterval(() => publisher.publish('1001', update), 300);
    try {
      expect(await got).toBe(update);
    } finally {
      clearInterval(timer);
    }
  });
});

/** A scripted BOSH peer for the cases a healthy server never shows. */
describe('BoshSocket protocol handling', () => {
  type Script = (body: string, rid: number, res: http.ServerResponse, seen: number) => void;
  async function peer(script: Script) {
    const bodies: string[] = [];
    const seen = new Map<number, number>();
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        bodies.push(body);
        const rid = Number(/rid='(\d+)'/.exec(body)?.[1]);
        seen.set(rid, (seen.get(rid) ?? 0) + 1);
        script(body, rid, res, seen.get(rid)!);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/http-bind`, bodies, server };
  }
  /** A socket that opened the stream, keeping what it hands on. */
  function openSocket(url: string): { s: BoshSocket; data: string[] } {
    const s = new BoshSocket();
    s.on('error', () => undefined);
    const data: string[] = [];
    s.on('data', (d: string) => data.push(d));
    s.connect(url);
    s.write("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='lab' version='1.0'/>");
    return { s, data };
  }

  /** Ends the socket and waits until it is closed, before the peer goes away. */
  async function finish(s: BoshSocket, server: http.Server): Promise<void> {
    const closed = new Promise((r) => s.once('close', r));
    s.end();
    await closed;
    await new Promise((r) => server.close(r));
  }
  const created = (res: http.ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(`<body xmlns='http://jabber.org/protocol/httpbind' xmlns:stream='http://etherx.jabber.org/streams' sid='S1' wait='5' requests='2' from='lab'><stream:features/></body>`);
  };

  it('sends a failed request again with the same rid and body, then goes on with rid + 1', async () => {
    const p = await peer((body, _rid, res, seen) => {
      if (body.includes("ver='1.6'")) return created(res);
      if (seen === 1) return res.destroy(); // the first try of each later request is cut off
      res.writeHead(200);
      res.end(`<body xmlns='http://jabber.org/protocol/httpbind'><message xmlns='jabber:client'><body>ok</body></message></body>`);
    });
    const { s, data } = openSocket(p.url);
    await waitFor(() => data.includes('<message xmlns="jabber:client"><body>ok</body></message>'), 20000, 'the answer of the retried poll');
    await finish(s, p.server);
    const rids = p.bodies.map((b) => Number(/rid='(\d+)'/.exec(b)![1]));
    const first = rids[0]!;
    expect(rids.slice(0, 3)).toEqual([first, first + 1, first + 1]); // create, poll, the same poll again
    expect(p.bodies[1]).toBe(p.bodies[2]);
    expect(data[0]).toMatch(/^<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'/);
    expect(data).toContain('<message xmlns="jabber:client"><body>ok</body></message>');
  });

  it('hands answers on in rid order even when they arrive out of order', async () => {
    let n = 0;
    const p = await peer((body, _rid, res) => {
      if (body.includes("ver='1.6'")) return created(res);
      n += 1;
      const answer = (text: string) => {
        res.writeHead(200);
        res.end(`<body xmlns='http://jabber.org/protocol/httpbind'>${text ? `<message xmlns='jabber:client'><body>${text}</body></message>` : ''}</body>`);
      };
      if (n === 1)
        setTimeout(() => answer('A'), 150); // the long-poll (lower rid) is answered late…
      else if (n === 2)
        answer('B'); // …the request carrying our message at once
      else setTimeout(() => answer(''), 1000);
    });
    const { s, data } = openSocket(p.url);
    await waitFor(() => p.bodies.length >= 2, 20000, 'the first long-poll'); // session created, poll under way
    s.write("<message xmlns='jabber:client'><body>hello</body></message>");
    const messages = () => data.filter((d) => d.startsWith('<message')).map((d) => /<body>(\w)<\/body>/.exec(d)![1]);
    await waitFor(() => messages().length >= 2, 20000, 'both answers handed on');
    await finish(s, p.server);
    const order = messages();
    expect(order).toEqual(['A', 'B']);
    expect(s.sent.slice(0, 3).map((r) => r.kind)).toEqual(['create', 'poll', 'data']);
  });

  it('closes with an error when the session is gone (HTTP 404)', async () => {
    const p = await peer((body, _rid, res) => {
      if (body.includes("ver='1.6'")) return created(res);
      res.writeHead(404);
      res.end();
    });
    const s = new BoshSocket();
    const closed = new Promise<{ dirty: boolean; err: string }>((resolve) => {
      let err = '';
      s.on('error', (e: Error) => (err = e.message));
      s.on('close', (dirty: boolean) => resolve({ dirty, err }));
    });
    s.connect(p.url);
    s.write("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='lab' version='1.0'/>");
    expect(await closed).toEqual({ dirty: true, err: 'BOSH: HTTP 404, the session is gone' });
    p.server.close();
  });
});

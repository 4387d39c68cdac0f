import { LAB_AGENTS } from './finesse-emulator';
import { dialogUpdate, ringing } from './finesse-xml';
import { ProsodyServer } from './prosody';
import { PubsubPublisher } from './pubsub-publisher';

type Xmpp = typeof import('@xmpp/client', { with: { 'resolution-mode': 'import' } });

describe('Finesse notifications on Prosody (real XMPP)', () => {
  const prosody = new ProsodyServer(
    'finesse.lab',
    LAB_AGENTS.map((a) => ({ username: a.id, password: a.password })),
  );
  const publisher = new PubsubPublisher(prosody);
  beforeAll(async () => {
    await prosody.start();
    await publisher.start(LAB_AGENTS.map((a) => a.id));
  });
  afterAll(async () => {
    await publisher.stop();
    await prosody.dispose();
  });

  it('delivers an Update published on the agent node to the agent, escaped inside <notification>', async () => {
    const { client }: Xmpp = await import('@xmpp/client');
    const { xml }: Xmpp = await import('@xmpp/client');
    const agent = client({
      service: prosody.c2sUrl,
      domain: prosody.domain,
      resource: 'fb24-test',
      credentials: (auth: (c: object, m: string) => Promise<void>) => auth({ username: '1001', password: 'lab' }, 'PLAIN'),
    } as Parameters<Xmpp['client']>[0]);
    const received = new Promise<string>((resolve) => {
      agent.on('stanza', (st) => {
        const n = st.getChild('event', 'http://jabber.org/protocol/pubsub#event')?.getChild('items')?.getChild('item')?.getChild('notification');
        if (n) resolve(n.text());
      });
    });
    agent.on('error', () => undefined);
    await agent.start();
    await agent.send(xml('presence', {}, xml('priority', {}, '0')));
    // Once a round trip after the presence is answered, the server counts the agent available.
    await agent.iqCaller.request(xml('iq', { type: 'get', to: prosody.domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    const update = dialogUpdate('1001', 'POST', ringing('1021', '42424242', '79001112233', { callVariable2: 'CONTACT:42' }));
    publisher.publish('1001', update);
    expect(await received).toBe(update);
    await agent.stop();
  });
});

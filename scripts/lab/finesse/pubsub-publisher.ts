import type { Client } from '@xmpp/client' with { 'resolution-mode': 'import' };
import { PUBLISHER, type ProsodyServer } from './prosody';

/**
 * Publishes Finesse Updates to the per-agent nodes `/finesse/api/User/{id}/Dialogs` on Prosody, as Finesse's
 * notification service does, and subscribes each agent's bare JID to its node (Finesse subscribes agents to their
 * own nodes by itself). Lab code.
 */
const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
// @xmpp/client is ESM-only: loaded with import(), its types named with resolution-mode.
type Xmpp = typeof import('@xmpp/client', { with: { 'resolution-mode': 'import' } });

export class PubsubPublisher {
  private xmpp: Client | null = null;
  private xml: Xmpp['xml'] | null = null;
  private ready: Promise<void> = Promise.resolve();
  private readonly nodes = new Set<string>();
  /** Publishes that failed (the server was down): lost, as Finesse's own would be. */
  failures = 0;

  constructor(private readonly server: ProsodyServer) {}

  async start(agentIds: string[]): Promise<void> {
    const { client, xml }: Xmpp = await import('@xmpp/client');
    this.xml = xml;
    const x = client({
      service: this.server.c2sUrl,
      domain: this.server.domain,
      resource: 'notifier',
      // PLAIN on loopback: SCRAM costs over a second in Node.
      credentials: (auth: (c: { username: string; password: string }, m: string) => Promise<void>) => auth(PUBLISHER, 'PLAIN'),
    } as Parameters<typeof client>[0]);
    x.on('error', () => undefined); // reconnects by itself; failed publishes are counted
    this.xmpp = x;
    // On every (re)connection the nodes and the agents' subscriptions are made sure of, as Finesse does after a
    // restart of its notification service; publishing waits for that.
    let online!: () => void;
    this.ready = new Promise((resolve) => (online = resolve));
    x.on('online', () => {
      const ensured = (async () => {
        for (const id of agentIds) await this.ensureNode(id);
      })();
      this.ready = ensured.catch(() => undefined);
      void ensured.finally(online);
    });
    await x.start();
    await this.ready;
  }

  private node(agentId: string): string {
    return `/finesse/api/User/${agentId}/Dialogs`;
  }

  private async iq(child: ReturnType<Xmpp['xml']>): Promise<void> {
    await this.xmpp!.iqCaller.request(this.xml!('iq', { type: 'set', to: this.server.pubsubDomain }, child), 5000);
  }

  private async ensureNode(agentId: string): Promise<void> {
    const xml = this.xml!;
    const node = this.node(agentId);
    try {
      await this.iq(xml('pubsub', { xmlns: NS_PUBSUB }, xml('create', { node })));
    } catch (err) {
      if (!/conflict/.test(String((err as Error).message ?? err))) throw err;
    }
    await this.iq(xml('pubsub', { xmlns: NS_PUBSUB }, xml('subscribe', { node, jid: `${agentId}@${this.server.domain}` })));
    this.nodes.add(agentId);
  }

  /** Resolves when connected (again, after a server restart). */
  online(): Promise<void> {
    const x = this.xmpp;
    if (!x) return Promise.reject(new Error('publisher not started'));
    if (x.status === 'online') return this.ready;
    return new Promise<void>((resolve) => x.once('online', () => resolve())).then(() => this.ready);
  }

  publish(agentId: string, update: string): void {
    const xml = this.xml;
    if (!xml || !this.xmpp) return;
    const item = xml('pubsub', { xmlns: NS_PUBSUB }, xml('publish', { node: this.node(agentId) }, xml('item', {}, xml('notification', { xmlns: NS_PUBSUB }, update))));
    this.ready.then(() => (this.xmpp!.status === 'online' ? this.iq(item) : Promise.reject(new Error('publisher offline')))).catch(() => (this.failures += 1));
  }

  async stop(): Promise<void> {
    await this.xmpp?.stop().catch(() => undefined);
    this.xmpp = null;
  }
}

import type { ConnectionInfo, OpenAjaxHub } from './finesse-container';
import { ParseError, relayedXml, topicOf } from './finesse-update';
import type { ConnectionState, NotificationSource, SourceHandlers } from './notification-source';

/**
 * Inside the Finesse desktop: the desktop owns the agent's single XMPP session and relays each notification on the
 * OpenAjax hub (topic = node with "/" → "."; payload {content: node path + payload, object: parsed payload}, as
 * finesse.js's MasterPublisher builds it); its connection state on `finesse.info.connection`.
 */
const STATES: Record<string, ConnectionState['status']> = {
  connected: 'connected',
  recovered: 'connected',
  connecting: 'connecting',
  reconnecting: 'reconnecting',
  disconnected: 'reconnecting',
  disconnecting: 'reconnecting',
  failing: 'reconnecting',
  unloading: 'failed',
};

export class HubSource implements NotificationSource {
  readonly kind = 'hub';
  private subscriptions: string[] = [];
  private wasDown = false;

  constructor(
    private readonly hub: OpenAjaxHub,
    private readonly agentId: string,
  ) {}

  start(h: SourceHandlers): void {
    this.subscriptions.push(
      this.hub.subscribe(topicOf(`/finesse/api/User/${this.agentId}/Dialogs`), (_topic, data) => {
        let xml: string;
        try {
          xml = relayedXml(data);
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
          return h.invalid(err.message);
        }
        h.update(xml);
      }),
      this.hub.subscribe('finesse.info.connection', (_topic, data) => {
        const info = (data ?? {}) as ConnectionInfo;
        const status = STATES[String(info.status ?? '').toLowerCase()];
        if (!status) return;
        h.state({ status, reason: status === 'connected' ? undefined : `desktop: ${info.status}` });
        if (status !== 'connected') this.wasDown = true;
        else if (this.wasDown || info.status === 'recovered') {
          this.wasDown = false;
          h.resync();
        }
      }),
    );
    // The desktop is connected when it renders gadgets; it says otherwise on the connection topic.
    h.state({ status: 'connected' });
  }

  stop(): void {
    for (const id of this.subscriptions.splice(0)) this.hub.unsubscribe(id);
  }
}

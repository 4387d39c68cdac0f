import { browserDeps } from './browser-deps';
import { GadgetApp } from './gadget-app';
import { readSettings, SettingsError } from './gadget-settings';
import { GadgetView } from './gadget-view';
import { pickLang, STRINGS } from './i18n';
import { chooseService, XmppSource } from './xmpp-source';
import { BoshConnection } from './bosh';
import type { NotificationSource } from './notification-source';
import { probeSystemInfo, SideFailover, type FinesseSide } from './side-failover';

/**
 * Entry point of standalone.html: the gadget outside the Finesse desktop (a second monitor, a CRM tab), with its
 * own XMPP session. Configured by URL parameters (docs/gadget.md "Standalone page").
 */
export function startStandalone(container: HTMLElement | null = document.getElementById('fb24-app')): GadgetApp | null {
  if (!container) throw new Error('fb24: no #fb24-app element');
  const params = new URLSearchParams(window.location.search);
  const t = STRINGS[pickLang(params.get('lang') ?? navigator.language)];
  document.documentElement.lang = pickLang(params.get('lang') ?? navigator.language);
  const view = new GadgetView(container, t, () => undefined);
  try {
    const agent = params.get('agent') ?? '';
    const password = params.get('password') ?? '';
    const service = chooseService(params.get('xmpp') ?? '');
    const domain = params.get('domain') ?? '';
    if (!agent || !password) throw new SettingsError('missing parameter "agent" or "password"');
    if (!service) throw new SettingsError('missing parameter "xmpp" (ws(s)://…/ws/ or http(s)://…/http-bind; both, comma-separated: WebSocket is used)');
    if (!domain) throw new SettingsError('missing parameter "domain" (the Finesse XMPP domain)');
    // Finesse REST, to read live dialogs after a reconnection: parameter "finesse", else the XMPP server's origin.
    let rest: URL;
    try {
      rest = new URL(params.get('finesse') || service.replace(/^ws/i, 'http'));
    } catch {
      throw new SettingsError('parameter "xmpp" or "finesse" is not a URL');
    }
    const settings = readSettings(
      params,
      {
        id: agent,
        extension: params.get('extension') ?? '',
        authorization: btoa(`${agent}:${password}`),
        scheme: rest.protocol.replace(':', ''),
        host: rest.hostname,
        hostPort: rest.port,
      },
      window.location.origin,
    );
    const deps = browserDeps();
    const xmppOf = (url: string) => new XmppSource({ service: url, domain, username: agent, password, transports: [BoshConnection] });
    // Side B of a UCCX HA pair: parameters "xmpp2" and "finesse2" (its REST; else the origin of "xmpp2").
    const service2 = chooseService(params.get('xmpp2') ?? '');
    let source: NotificationSource = xmppOf(service);
    if (service2) {
      let rest2: URL;
      try {
        rest2 = new URL(params.get('finesse2') || service2.replace(/^ws/i, 'http'));
      } catch {
        throw new SettingsError('parameter "xmpp2" or "finesse2" is not a URL');
      }
      const sides: FinesseSide[] = [
        { name: 'A', xmpp: service, rest: rest.origin },
        { name: 'B', xmpp: service2, rest: rest2.origin },
      ];
      const auth = settings.finesse!.authorization;
      source = new SideFailover(sides, {
        source: (side) => xmppOf(side.xmpp),
        probe: (side) => probeSystemInfo(side, auth, deps.fetch, deps.parse),
        // The same settings object the app reads: its dialogs and calls go to the side in use.
        use: (side) => (settings.finesse!.baseUrl = side.rest),
        log: (m) => deps.log(m),
      });
    }
    const app = new GadgetApp(settings, source, view, t, deps);
    app.start();
    return app;
  } catch (err) {
    if (!(err instanceof SettingsError) && !(err instanceof Error && err.message.startsWith('xmpp:'))) throw err;
    view.state({ status: 'failed', reason: err.message });
    return null;
  }
}

import { browserDeps } from './browser-deps';
import { GadgetApp } from './gadget-app';
import { readSettings, SettingsError } from './gadget-settings';
import { GadgetView } from './gadget-view';
import { pickLang, STRINGS } from './i18n';
import { chooseService, XmppSource } from './xmpp-source';
import { BoshConnection } from './bosh';

/**
 * Entry point of standalone.html: the gadget outside the Finesse desktop (a second monitor, a CRM tab), with its
 * own XMPP session. Configured by URL parameters (README "Standalone page").
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
    const source = new XmppSource({ service, domain, username: agent, password, transports: [BoshConnection] });
    const app = new GadgetApp(settings, source, view, t, browserDeps());
    app.start();
    return app;
  } catch (err) {
    if (!(err instanceof SettingsError) && !(err instanceof Error && err.message.startsWith('xmpp:'))) throw err;
    view.state({ status: 'failed', reason: err.message });
    return null;
  }
}

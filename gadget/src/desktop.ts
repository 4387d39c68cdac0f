import { GadgetApp } from './gadget-app';
import { configFromPrefs, gadgetParams, readSettings, SettingsError } from './gadget-settings';
import { GadgetView } from './gadget-view';
import { HubSource } from './hub-source';
import { pickLang, STRINGS } from './i18n';

/** Reading sessionStorage throws in an iframe whose browser blocks third-party storage: then go without it. */
function sessionStorageIfAllowed(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** Entry point inside the Finesse desktop; the gadget XML calls it from gadgets.HubSettings.onConnect. */
export function startInDesktop(container: HTMLElement | null = document.getElementById('fb24-app')): GadgetApp | null {
  const g = window.gadgets;
  if (!g || !container) throw new Error('fb24: not inside a Finesse desktop (no gadgets.Hub)');
  const config = window.finesse?.gadget?.Config ?? configFromPrefs(new g.Prefs());
  const params = gadgetParams(window.location);
  const t = STRINGS[pickLang(config.locale ?? config.language ?? params.get('lang') ?? undefined)];
  const view = new GadgetView(container, t, () => g.window?.adjustHeight());
  try {
    const settings = readSettings(params, config, window.location.origin);
    const app = new GadgetApp(settings, new HubSource(g.Hub, settings.agentId), view, t, {
      parse: (xml) => new DOMParser().parseFromString(xml, 'text/xml'),
      fetch: window.fetch.bind(window),
      openWindow: (url, name) => window.open(url, name),
      storage: sessionStorageIfAllowed(),
      log: (m, d) => console.warn(`[fb24] ${m}`, d ?? ''),
    });
    app.start();
    return app;
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    view.state({ status: 'failed', reason: err.message });
    return null;
  }
}

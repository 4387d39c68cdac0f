import { browserDeps } from './browser-deps';
import { GadgetApp } from './gadget-app';
import { configFromPrefs, gadgetParams, readSettings, SettingsError } from './gadget-settings';
import { GadgetView } from './gadget-view';
import { HubSource } from './hub-source';
import { pickLang, STRINGS } from './i18n';

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
    const app = new GadgetApp(settings, new HubSource(g.Hub, settings.agentId), view, t, browserDeps());
    app.start();
    return app;
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    view.state({ status: 'failed', reason: err.message });
    return null;
  }
}

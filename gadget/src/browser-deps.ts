import type { GadgetDeps } from './gadget-app';

/** Reading sessionStorage throws in an iframe whose browser blocks third-party storage: then go without it. */
function sessionStorageIfAllowed(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** The gadget's outside world in a browser. */
export function browserDeps(): GadgetDeps {
  return {
    parse: (xml) => new DOMParser().parseFromString(xml, 'text/xml'),
    fetch: window.fetch.bind(window),
    openWindow: (url, name) => window.open(url, name),
    storage: sessionStorageIfAllowed(),
    log: (m, d) => console.warn(`[fb24] ${m}`, d ?? ''),
  };
}

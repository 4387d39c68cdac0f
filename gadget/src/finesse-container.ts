/**
 * Typed declarations for what the Finesse desktop (Shindig + OpenAjax Hub + finesse.js) gives a gadget
 * (finesse.js in github.com/CiscoDevNet/finesse-sample-code; the OpenAjax Hub 2.0 specification). No npm package or @types exists for these.
 */
export interface OpenAjaxHub {
  subscribe(topic: string, onData: (topic: string, data: unknown) => void, scope?: unknown, onComplete?: (subscriptionId: string, success: boolean, error?: string) => void): string;
  publish(topic: string, data: unknown): void;
  unsubscribe(subscriptionId: string): void;
  isConnected(): boolean;
}

export interface GadgetPrefs {
  getString(name: string): string;
  getLang(): string;
}

export interface GadgetsApi {
  Hub: OpenAjaxHub;
  HubSettings: { onConnect?: () => void };
  window?: { adjustHeight(height?: number): void };
  Prefs: new () => GadgetPrefs;
}

/** finesse.gadget.Config, built by the desktop from the gadget prefs. */
export interface FinesseGadgetConfig {
  id?: string;
  extension?: string;
  authorization?: string;
  /** 'SSO' (11.6+): `authorization` is a bearer token, not base64 "id:password". */
  systemAuthMode?: string;
  locale?: string;
  language?: string;
  host?: string;
  hostPort?: string;
  scheme?: string;
  xmppDomain?: string;
  pubsubDomain?: string;
}

/** The hub payload the desktop relays for every notification node (finesse.md §6.4). */
export interface RelayedNotification {
  content?: string;
  object?: unknown;
}

/** `finesse.info.connection` payload. */
export interface ConnectionInfo {
  status?: string;
  resourceID?: string;
}

declare global {
  interface Window {
    gadgets?: GadgetsApi;
    finesse?: { gadget?: { Config?: FinesseGadgetConfig } };
  }
}

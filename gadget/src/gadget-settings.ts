import type { GadgetSettings } from './gadget-app';
import type { FinesseGadgetConfig, GadgetPrefs } from './finesse-container';
import { DEFAULT_INTERNAL_MAX_DIGITS } from './dialog-facts';
import { NamedError } from '../../protocol/named-error';

/**
 * Gadget parameters come from the query string of the gadget URL in the desktop layout (docs/gadget.md "Gadget
 * parameters"). Inside the desktop the iframe's own URL carries the gadget URL in `url=`; both are read, the gadget
 * URL winning.
 */
export function gadgetParams(location: { search: string }): URLSearchParams {
  const own = new URLSearchParams(location.search);
  const merged = new URLSearchParams(own);
  const gadgetUrl = own.get('url');
  if (gadgetUrl) {
    try {
      new URL(gadgetUrl, 'https://finesse.invalid').searchParams.forEach((v, k) => merged.set(k, v));
    } catch {
      // not a URL: own parameters only
    }
  }
  return merged;
}

export class SettingsError extends NamedError {}

function httpUrl(params: URLSearchParams, name: string, required: boolean): string {
  const v = (params.get(name) ?? '').trim().replace(/\/+$/, '');
  if (!v) {
    if (required) throw new SettingsError(`missing parameter "${name}"`);
    return '';
  }
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new SettingsError(`parameter "${name}" is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new SettingsError(`parameter "${name}" must be http(s)`);
  return v;
}

/** `internalDigits`: the longest internal directory number of the contact center (extensions, route points, ports). */
function internalDigits(params: URLSearchParams): number {
  const raw = params.get('internalDigits');
  if (raw === null || raw === '') return DEFAULT_INTERNAL_MAX_DIGITS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10) throw new SettingsError('parameter "internalDigits" must be a whole number from 1 to 10');
  return n;
}

export function readSettings(params: URLSearchParams, config: FinesseGadgetConfig, origin: string): GadgetSettings {
  const agentId = (config.id ?? params.get('agent') ?? '').trim();
  if (!agentId) throw new SettingsError('missing the agent id (finesse.gadget.Config.id or parameter "agent")');
  const trigger = (params.get('trigger') ?? 'ALERTING').toUpperCase();
  if (trigger !== 'ALERTING' && trigger !== 'ACTIVE') throw new SettingsError('parameter "trigger" must be ALERTING or ACTIVE');
  const finesseBase = config.host ? `${config.scheme || 'https'}://${config.host}${config.hostPort ? `:${config.hostPort}` : ''}` : origin;
  return {
    agentId,
    extension: (config.extension ?? params.get('extension') ?? '').trim(),
    middlewareUrl: httpUrl(params, 'middleware', true),
    pop: {
      crmBaseUrl: httpUrl(params, 'crm', true),
      entityVariable: params.get('entityVar') || 'callVariable2',
      phoneVariable: params.get('phoneVar') || 'callVariable1',
      scriptUrlTemplate: params.get('script') ?? '',
      internalMaxDigits: internalDigits(params),
    },
    trigger,
    inbound: params.get('inbound') !== 'false',
    outbound: params.get('outbound') === 'true',
    // As finesse.js's getAuthHeaderString: a bearer token under SSO, else Basic.
    finesse: config.authorization ? { baseUrl: finesseBase, authorization: `${config.systemAuthMode === 'SSO' ? 'Bearer' : 'Basic'} ${config.authorization}` } : null,
    calls: params.get('calls') !== 'off',
  };
}

/** finesse.gadget.Config without finesse.js: the same values from the gadget prefs the desktop sets. */
export function configFromPrefs(prefs: GadgetPrefs): FinesseGadgetConfig {
  const get = (n: string) => prefs.getString(n) || undefined;
  const authorization = get('authorization');
  // Since 10.x the agent id travels inside the base64 "id:password" authorization, as finesse.js reads it.
  let id = get('id');
  if (!id && authorization && get('systemAuthMode') !== 'SSO') {
    try {
      id = atob(authorization).split(':')[0] || undefined;
    } catch {
      id = undefined;
    }
  }
  return {
    id,
    extension: get('extension'),
    authorization,
    systemAuthMode: get('systemAuthMode'),
    locale: get('locale') ?? prefs.getLang(),
    host: get('host'),
    hostPort: get('hostPort'),
    scheme: get('scheme'),
  };
}

import { RestError } from '../portal';
import { appOnly } from './rows';
import type { MethodTable } from './types';

/** The placements the emulator knows to show (b24restdocs api-reference/widgets/placements.md): ours, and the left menu. */
const KNOWN = ['TELEPHONY_ANALYTICS_MENU', 'LEFT_MENU', 'DEFAULT'];

/**
 * placement.bind / get / unbind as b24restdocs describe them (conformance/bitrix24/docs/placement-*-response.json):
 * bind answers `true`; a missing PLACEMENT or HANDLER is ERROR_ARGUMENT naming it; get lists the application's
 * placements with `options` an empty array where the placement keeps none (TELEPHONY_ANALYTICS_MENU keeps none).
 */
export const placementMethods: MethodTable = {
  'placement.bind': ({ state, p, auth }) => {
    appOnly(auth);
    for (const arg of ['PLACEMENT', 'HANDLER'] as const) if (!String(p[arg] ?? '').trim()) throw new RestError(400, 'ERROR_ARGUMENT', `Argument '${arg}' is null or empty`);
    const placement = String(p.PLACEMENT).toUpperCase();
    if (!KNOWN.includes(placement)) throw new RestError(400, 'ERROR_PLACEMENT_NOT_FOUND', 'Placement not found');
    const handler = String(p.HANDLER);
    if (state.placements.some((x) => x.placement === placement && x.handler === handler))
      throw new RestError(400, 'ERROR_PLACEMENT_HANDLER', 'Unable to set placement handler: Handler already binded');
    const langAll = (p.LANG_ALL ?? {}) as Record<string, Record<string, string>>;
    state.placements.push({
      placement,
      userId: 0,
      handler,
      options: [],
      title: String(p.TITLE ?? ''),
      description: String(p.DESCRIPTION ?? ''),
      langAll: Object.fromEntries(
        Object.entries(langAll).map(([lang, t]) => [lang, { TITLE: String(t.TITLE ?? ''), DESCRIPTION: String(t.DESCRIPTION ?? ''), GROUP_NAME: String(t.GROUP_NAME ?? '') }]),
      ),
    });
    return true;
  },
  'placement.get': ({ state, auth }) => {
    appOnly(auth);
    return state.placements;
  },
  'placement.unbind': ({ state, p, auth }) => {
    appOnly(auth);
    const placement = String(p.PLACEMENT ?? '').toUpperCase();
    const before = state.placements.length;
    state.placements.splice(0, state.placements.length, ...state.placements.filter((x) => x.placement !== placement || (p.HANDLER !== undefined && x.handler !== String(p.HANDLER))));
    return { count: before - state.placements.length };
  },
};

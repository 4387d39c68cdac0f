import { userRow } from './rows';
import type { MethodTable, Params } from './types';

/** user.*: who calls, whether an administrator, the users (50 a page, filtered as the docs list). */
export const userMethods: MethodTable = {
  'user.current': ({ state, auth }) => userRow(state.portal, auth.userId),
  'user.admin': ({ state, auth }) => state.admins.has(auth.userId),
  'user.get': ({ state, p }) => {
    const filter = (p.FILTER ?? p.filter ?? {}) as Params;
    const ids = filter.ID === undefined ? null : ([] as unknown[]).concat(filter.ID).map(Number);
    const start = Math.max(0, Number(p.start ?? 0));
    return [...state.portal.users.values()]
      .filter((u) => ids === null || ids.includes(u.ID))
      .filter((u) => filter.ACTIVE === undefined || String(u.ACTIVE) === String(filter.ACTIVE))
      .filter((u) => filter.UF_PHONE_INNER === undefined || u.UF_PHONE_INNER === String(filter.UF_PHONE_INNER))
      .sort((a, b) => a.ID - b.ID)
      .slice(start, start + 50)
      .map((u) => userRow(state.portal, u.ID));
  },
};

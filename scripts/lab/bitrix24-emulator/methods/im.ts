import { RestError } from '../portal';
import type { MethodTable } from './types';

/** im.notify.system.add: a system notification to one user, kept in order for the tests to read. */
export const imMethods: MethodTable = {
  'im.notify.system.add': ({ state, p }) => {
    const userId = Number(p.USER_ID ?? 0);
    if (!state.portal.users.has(userId)) throw new RestError(400, 'USER_ID_EMPTY', 'Recipient user not found');
    if (!String(p.MESSAGE ?? '').trim()) throw new RestError(400, 'MESSAGE_EMPTY', 'Message can not be empty');
    state.notifications.push({ userId, message: String(p.MESSAGE), at: Date.now() });
    return state.notifications.length;
  },
};

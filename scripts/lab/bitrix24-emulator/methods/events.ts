import { RestError } from '../portal';
import { appOnly } from './rows';
import type { Method, MethodTable } from './types';

const CRM_EVENTS = ['CONTACT', 'COMPANY', 'LEAD'].flatMap((t) => ['ADD', 'UPDATE', 'DELETE'].map((k) => `ONCRM${t}${k}`));
const BINDABLE = ['ONEXTERNALCALLSTART', 'ONEXTERNALCALLBACKSTART', 'ONAPPINSTALL', 'ONAPPUNINSTALL', ...CRM_EVENTS];

const bindOrUnbind: Method = ({ state, method, p, auth }) => {
  appOnly(auth);
  const event = String(p.event ?? '').toUpperCase();
  const handler = String(p.handler ?? '');
  if (!BINDABLE.includes(event)) throw new RestError(400, 'ERROR_EVENT_NOT_FOUND', 'Event not found');
  if (p.event_type === 'offline') {
    // No handler: the portal queues the event (administrators only, reference: event.bind's 403).
    if (method === 'event.unbind') return { count: state.offlineBindings.delete(event) ? 1 : 0 };
    if (state.offlineBindings.has(event)) throw new RestError(400, 'ERROR_CORE', 'Handler already binded');
    state.offlineBindings.add(event);
    return true;
  }
  const set = state.bindings.get(event) ?? new Set<string>();
  state.bindings.set(event, set);
  if (method === 'event.unbind') return { count: set.delete(handler) ? 1 : 0 };
  if (!/^https?:\/\//.test(handler)) throw new RestError(400, 'ERROR_HANDLER_URL_MISMATCH', 'Wrong handler URL');
  if (set.has(handler)) throw new RestError(400, 'ERROR_CORE', 'Handler already binded');
  set.add(handler);
  return true;
};

/** event.*: the application's bindings, online (delivered to a handler) and offline (queued on the portal). */
export const eventMethods: MethodTable = {
  'event.bind': bindOrUnbind,
  'event.unbind': bindOrUnbind,
  'event.get': ({ state, auth }) => {
    appOnly(auth);
    return [
      // As event.get's documented answer (conformance/bitrix24/docs/event-get-response.json): auth_type a string.
      ...[...state.bindings].flatMap(([event, set]) => [...set].map((handler) => ({ event, handler, auth_type: '0', offline: 0 }))),
      ...[...state.offlineBindings].map((event) => ({ event, handler: '', auth_type: '0', offline: 1 })),
    ];
  },
  'event.offline.get': ({ state, p, auth }) => {
    appOnly(auth);
    const limit = Math.max(1, Math.min(1000, Number(p.limit ?? 50)));
    const batch = [...state.offlineQueue.entries()].slice(0, limit);
    if (String(p.clear ?? '1') !== '0') for (const [k] of batch) state.offlineQueue.delete(k);
    return { process_id: null, events: batch.map(([, e]) => e) };
  },
};

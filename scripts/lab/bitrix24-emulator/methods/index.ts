import { appMethods } from './app';
import { crmMethods } from './crm';
import { eventMethods } from './events';
import { imMethods } from './im';
import type { Method, MethodTable } from './types';
import { placementMethods } from './placement';
import { telephonyMethods } from './telephony';
import { userMethods } from './users';

/** Every REST method the emulator answers, one table; a name in two modules is a mistake caught at load. */
function table(...groups: MethodTable[]): ReadonlyMap<string, Method> {
  const all = new Map<string, Method>();
  for (const group of groups) {
    for (const [name, method] of Object.entries(group)) {
      if (all.has(name)) throw new Error(`REST method ${name} is defined twice`);
      all.set(name, method);
    }
  }
  return all;
}

export const restMethods = table(appMethods, userMethods, crmMethods, eventMethods, telephonyMethods, imMethods, placementMethods);
export { newCallId } from './telephony';
export type { Auth, EmulatedCall, MethodCall, OfflineEvent, Params, PortalState } from './types';

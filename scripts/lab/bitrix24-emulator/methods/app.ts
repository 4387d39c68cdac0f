import { appOnly } from './rows';
import type { MethodTable } from './types';

/** The application's own methods: its permissions, the portal's clock, its installation. */
export const appMethods: MethodTable = {
  // The application's permissions (conformance/bitrix24/docs/scope-response.json: an array of names).
  scope: ({ state }) => [...state.scopes],
  'server.time': () => new Date().toISOString(),
  'app.info': ({ state, auth }) => {
    appOnly(auth);
    return {
      ID: 7,
      CODE: state.app.clientId,
      VERSION: 1,
      STATUS: 'L',
      INSTALLED: true,
      PAYMENT_EXPIRED: 'N',
      DAYS: null,
      LANGUAGE_ID: 'ru',
      LICENSE: 'ru_project',
      LICENSE_TYPE: 'project',
      LICENSE_FAMILY: 'project',
    };
  },
};

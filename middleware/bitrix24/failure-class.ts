import { Bitrix24Error, DeadlineError, TransportError } from './errors';

/**
 * What a Bitrix24 failure means for what we do next, from Bitrix24's own words (conformance/bitrix24/docs:
 * the system error table of b24restdocs, 2024 and 2026 versions, and the methods' own error tables):
 * - `transient`: an outage or a server fault — retry with backoff;
 * - `rate`: the portal's request bucket is full — wait for it (QUERY_LIMIT_EXCEEDED);
 * - `blocked_method`: this method used up its operating time — it waits until the reset, others go on;
 * - `auth`: the credentials do not work — refresh once, then an administrator must reinstall or fix the webhook;
 * - `access`: refused for a reason an administrator can fix (plan, scope, user access, https, a manual block);
 * - `request`: this request can never succeed (unknown method, bad argument, a record that does not exist) —
 *   never retried; the job is parked with its reason;
 * - `portal_gone`: the portal was deleted, or its public part closed (PORTAL_DELETED);
 * - `portal_moved`: the portal answers with a redirect (renamed): nothing is sent until it is configured anew.
 */
export type FailureClass = 'transient' | 'rate' | 'blocked_method' | 'auth' | 'access' | 'request' | 'portal_gone' | 'portal_moved';

/** Codes of the system error table and the methods we call, by class. A code not here is decided by its status. */
const BY_CODE: Record<string, FailureClass> = {
  INTERNAL_SERVER_ERROR: 'transient',
  ERROR_UNEXPECTED_ANSWER: 'transient',
  QUERY_LIMIT_EXCEEDED: 'rate',
  OPERATION_TIME_LIMIT: 'blocked_method',
  NO_AUTH_FOUND: 'auth',
  expired_token: 'auth',
  invalid_token: 'auth',
  INVALID_CREDENTIALS: 'auth',
  invalid_grant: 'auth',
  // "a manual individual block: contact Bitrix24 technical support" — no retry loop will lift it.
  OVERLOAD_LIMIT: 'access',
  INVALID_REQUEST: 'access',
  ACCESS_DENIED: 'access',
  insufficient_scope: 'access',
  user_access_error: 'access',
  WRONG_AUTH_TYPE: 'access',
  PORTAL_DELETED: 'portal_gone',
  ERROR_METHOD_NOT_FOUND: 'request',
  ERROR_BATCH_METHOD_NOT_ALLOWED: 'request',
  ERROR_BATCH_LENGTH_EXCEEDED: 'request',
  INVALID_ARGUMENT: 'request',
};

/** ERROR_CORE carries several meanings in its description (telephony.externalCall.finish's table). */
const CORE_TRANSIENT = /unexpected database error/i;

export class PortalMovedError extends Bitrix24Error {
  constructor(
    readonly location: string,
    httpStatus: number,
    method: string,
  ) {
    super('PORTAL_MOVED', `the portal answers with a redirect to ${location || '(no Location)'}: set B24_PORTAL_URL to its new address and reinstall`, httpStatus, method);
  }
}

export function failureClass(err: unknown): FailureClass {
  if (err instanceof PortalMovedError) return 'portal_moved';
  if (err instanceof DeadlineError || err instanceof TransportError) return 'transient';
  if (!(err instanceof Bitrix24Error)) return 'transient';
  const known = BY_CODE[err.code];
  if (known) return known;
  if (err.code === 'ERROR_CORE') return CORE_TRANSIENT.test(err.description) ? 'transient' : 'request';
  const s = err.httpStatus;
  if (s === 401) return 'auth';
  if (s === 403) return 'access';
  if (s !== null && s >= 500) return 'transient';
  // A 4xx with a method's own words ("Communication type is not defined", an empty code): this request is wrong.
  if (s !== null && s >= 400) return 'request';
  return 'transient';
}

/** Never worth retrying on its own: the job is parked with its reason (a person must act). */
export const isPermanent = (c: FailureClass) => c === 'request';

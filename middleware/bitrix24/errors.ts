import { NamedError } from '../../protocol/named-error';
/**
 * Typed Bitrix24 errors. The REST API answers {"error": CODE, "error_description": text}; CODE may be an empty
 * string (legacy CRM methods, telephony finish), so the class follows the code first and the HTTP status second.
 */
export class Bitrix24Error extends NamedError {
  constructor(
    readonly code: string,
    readonly description: string,
    readonly httpStatus: number | null,
    readonly method: string,
  ) {
    super(`${method}: ${code || '(no code)'}${description ? ` ${description}` : ''}${httpStatus ? ` [HTTP ${httpStatus}]` : ''}`);
  }
  /** Worth retrying later (rate limits, outages); a write must still be made idempotent before retrying. */
  get transient(): boolean {
    return false;
  }
}

/** Worth retrying later: the portal or the network may answer next time. */
export class TransientError extends Bitrix24Error {
  override get transient() {
    return true;
  }
}

/** 503 QUERY_LIMIT_EXCEEDED: the portal's leaky bucket overflowed. */
export class RateLimitError extends TransientError {}
/** 429 OPERATION_TIME_LIMIT: this method used up its operating time for now. */
export class OperatingLimitError extends TransientError {}
/** 5xx other than the rate limits: the portal failed. */
export class ServerError extends TransientError {}
/** The request never got a Bitrix24 answer: network error, timeout, or a body that is not the REST envelope. */
export class TransportError extends TransientError {}
/** The caller's own deadline passed before an answer; the request may still complete at Bitrix24. */
export class DeadlineError extends TransientError {}
/** 401 expired_token / invalid_token / NO_AUTH_FOUND: the credentials do not work. */
export class AuthError extends Bitrix24Error {
  get expired(): boolean {
    return this.code === 'expired_token' || this.code === 'invalid_token';
  }
}
/** 403 insufficient_scope / WRONG_AUTH_TYPE / ACCESS_DENIED …: not allowed for these credentials. */
export class AccessError extends Bitrix24Error {}
/** PORTAL_DELETED: the portal is gone, or (on-premise) its public part is closed. */
export class PortalGoneError extends Bitrix24Error {}
/** Application mode before the portal installed us. */
export class NotInstalledError extends Bitrix24Error {}

const BY_CODE: Record<string, new (c: string, d: string, s: number | null, m: string) => Bitrix24Error> = {
  QUERY_LIMIT_EXCEEDED: RateLimitError,
  // A manual block of the portal's REST API (b24restdocs system errors): only Bitrix24's support lifts it.
  OVERLOAD_LIMIT: AccessError,
  PORTAL_DELETED: PortalGoneError,
  OPERATION_TIME_LIMIT: OperatingLimitError,
  expired_token: AuthError,
  invalid_token: AuthError,
  NO_AUTH_FOUND: AuthError,
  insufficient_scope: AccessError,
  WRONG_AUTH_TYPE: AccessError,
  ACCESS_DENIED: AccessError,
  INVALID_CREDENTIALS: AccessError,
  user_access_error: AccessError,
};

export function errorFromBody(body: unknown, httpStatus: number | null, method: string): Bitrix24Error {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { error?: unknown; error_description?: unknown };
  const code = typeof b.error === 'string' ? b.error : '';
  const description = typeof b.error_description === 'string' ? b.error_description : '';
  const Known = BY_CODE[code];
  if (Known) return new Known(code, description, httpStatus, method);
  if (httpStatus === 401) return new AuthError(code, description, httpStatus, method);
  if (httpStatus === 403) return new AccessError(code, description, httpStatus, method);
  if (httpStatus === 503 && !code) return new ServerError(code, description, httpStatus, method);
  if (httpStatus !== null && httpStatus >= 500) return new ServerError(code, description, httpStatus, method);
  return new Bitrix24Error(code, description, httpStatus, method);
}

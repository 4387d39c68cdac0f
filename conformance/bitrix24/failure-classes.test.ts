import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorFromBody } from '../../middleware/bitrix24/errors';
import { failureClass, type FailureClass } from '../../middleware/bitrix24/failure-class';

/**
 * Every error Bitrix24 documents (INDEX.md: the system error table, 2024 and 2026 versions, and the method tables of
 * what we call) through our client's reading of a body and our classification: what we then do is decided by the
 * portal's own words, never "an outage, retry" by default.
 */
const here = (p: string) => readFileSync(join(__dirname, p), 'utf8');

/** The table rows: || `status` | `CODE` … */
const rows = (file: string) => [...here(file).matchAll(/^\|\| `(\d{3})` \| `([\w]+)`/gm)].map((m) => ({ status: Number(m[1]), code: m[2]! }));

const EXPECTED: Record<string, FailureClass> = {
  INTERNAL_SERVER_ERROR: 'transient',
  ERROR_UNEXPECTED_ANSWER: 'transient',
  QUERY_LIMIT_EXCEEDED: 'rate',
  OPERATION_TIME_LIMIT: 'blocked_method',
  NO_AUTH_FOUND: 'auth',
  expired_token: 'auth',
  INVALID_CREDENTIALS: 'auth',
  INVALID_REQUEST: 'access', // https required: the administrator's configuration
  OVERLOAD_LIMIT: 'access', // a manual block: only Bitrix24's support lifts it
  ACCESS_DENIED: 'access', // the plan has no REST
  insufficient_scope: 'access',
  user_access_error: 'access',
  ERROR_METHOD_NOT_FOUND: 'request',
  ERROR_BATCH_METHOD_NOT_ALLOWED: 'request',
  ERROR_BATCH_LENGTH_EXCEEDED: 'request',
  PORTAL_DELETED: 'portal_gone',
};

describe('Bitrix24 failures: every documented error has its class', () => {
  const table = [...rows('docs/system-errors-2026.md'), ...rows('docs/system-errors-2024.md')];

  it('reads both versions of the system error table (14 and 10 rows)', () => {
    expect(rows('docs/system-errors-2026.md')).toHaveLength(14);
    expect(rows('docs/system-errors-2024.md')).toHaveLength(10);
  });

  it.each(table.map((r) => [`${r.status} ${r.code}`, r] as const))('%s', (_name, { status, code }) => {
    const err = errorFromBody({ error: code, error_description: 'as documented' }, status, 'any.method');
    expect(failureClass(err)).toBe(EXPECTED[code]);
  });

  const methods = JSON.parse(here('docs/method-error-bodies.json')) as { bodies: Array<{ method: string; status: number; body: { error: string; error_description: string } }> };
  it.each<[string, FailureClass]>([
    ['crm.duplicate.findbycomm 400 Communication type is not defined', 'request'],
    ['crm.duplicate.findbycomm 400 Communication values is not defined', 'request'],
    ['crm.duplicate.findbycomm 403 Access denied', 'access'],
    ['telephony.externalCall.finish 400 INVALID_ARGUMENT', 'request'],
    ['telephony.externalCall.finish 403 WRONG_AUTH_TYPE', 'access'],
    ['telephony.externalCall.finish 400 ERROR_CORE Call is not found (call should be registered prior to finishing)', 'request'],
    ['telephony.externalCall.finish 400 ERROR_CORE User is not found or is not active', 'request'],
    ['telephony.externalCall.finish 400 ERROR_CORE Unexpected database error', 'transient'],
  ])('%s → %s', (name, cls) => {
    const b = methods.bodies.find((x) => name === `${x.method} ${x.status} ${x.body.error}${x.body.error === 'ERROR_CORE' ? ` ${x.body.error_description}` : ''}`);
    expect(b).toBeDefined();
    expect(failureClass(errorFromBody(b!.body, b!.status, b!.method))).toBe(cls);
  });

  it('an answer with no Bitrix24 body decides by its status: 5xx an outage, another 4xx a wrong request', () => {
    expect(failureClass(errorFromBody('<html>Bad gateway</html>', 502, 'x'))).toBe('transient');
    expect(failureClass(errorFromBody({}, 400, 'x'))).toBe('request');
    expect(failureClass(errorFromBody({}, 401, 'x'))).toBe('auth');
  });
});

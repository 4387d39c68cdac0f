import { parseStringPromise } from 'xml2js';
import { NamedError } from '../../protocol/named-error';

/**
 * Finesse REST as the middleware needs it: "is this really agent X, signed in?" We pass the gadget's own
 * authorization to `GET /finesse/api/User/{id}` once and keep nothing of it (Cisco Finesse Web Services Developer Guide: authentication; User — Get User).
 * Finesse refuses a user reading another user (401), so an agent cannot open a session as someone else.
 */
export interface SignedInAgent {
  agentId: string;
  extension: string;
  state: string;
}

export class FinesseRefused extends NamedError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class FinesseUnreachable extends NamedError {}

/** The text of the first element named `name` anywhere in xml2js output, case-insensitively (Finesse mixes cases). */
function find(node: unknown, name: string): string | undefined {
  if (Array.isArray(node)) {
    for (const n of node) {
      const v = find(n, name);
      if (v !== undefined) return v;
    }
    return undefined;
  }
  if (typeof node !== 'object' || node === null) return undefined;
  for (const [k, v] of Object.entries(node)) {
    if (k.toLowerCase() === name.toLowerCase()) {
      const first = Array.isArray(v) ? v[0] : v;
      return typeof first === 'string' ? first.trim() : '';
    }
  }
  for (const v of Object.values(node)) {
    const found = find(v, name);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function apiErrorText(xml: string): Promise<string> {
  try {
    const doc: unknown = await parseStringPromise(xml);
    return [find(doc, 'ErrorType'), find(doc, 'ErrorMessage')].filter(Boolean).join(': ');
  } catch {
    return '';
  }
}

export async function signedInAgent(baseUrl: string, agentId: string, authorization: string, timeoutMs: number): Promise<SignedInAgent> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/finesse/api/User/${encodeURIComponent(agentId)}`, {
      headers: { authorization, accept: 'application/xml' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new FinesseUnreachable(`Finesse did not answer: ${(err as Error).message}`);
  }
  const body = await res.text();
  if (res.status === 401 || res.status === 403 || res.status === 404) {
    const why = await apiErrorText(body);
    throw new FinesseRefused(res.status, `Finesse refused the agent's authorization (HTTP ${res.status}${why ? `, ${why}` : ''})`);
  }
  if (!res.ok) throw new FinesseUnreachable(`Finesse answered HTTP ${res.status}`);
  let doc: unknown;
  try {
    doc = await parseStringPromise(body);
  } catch {
    throw new FinesseUnreachable('Finesse answered something that is not a User');
  }
  const loginId = find(doc, 'loginId') ?? '';
  if (loginId !== agentId) throw new FinesseRefused(401, 'Finesse answered for another user');
  // Finesse lets an administrator (or a supervisor of the team) read any User: with Basic credentials the user who
  // signed in must be the agent himself (his loginId or loginName), or anyone could dial as him.
  const presented = basicUser(authorization);
  const loginName = find(doc, 'loginName') ?? '';
  if (presented !== null && presented.toLowerCase() !== loginId.toLowerCase() && presented.toLowerCase() !== loginName.toLowerCase()) {
    throw new FinesseRefused(403, "these are not the agent's own credentials (another user's, e.g. an administrator's)");
  }
  const extension = find(doc, 'extension') ?? '';
  if (!extension) throw new FinesseRefused(409, 'the agent is not signed in to an extension');
  return { agentId, extension, state: find(doc, 'state') ?? '' };
}

/** The user name in `Basic base64(user:password)`, or null for another scheme (SSO Bearer) or a malformed header. */
export function basicUser(authorization: string): string | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/.exec(authorization.trim());
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? decoded.slice(0, colon) : null;
}

import { sameSecret } from '../secrets';
import { NamedError } from '../../protocol/named-error';

/**
 * Who opened our application page inside Bitrix24 (b24restdocs: local-integrations/serverside-local-app-with-ui.md): the frame POSTs AUTH_ID, member_id,
 * APPLICATION_TOKEN; we compare member_id and the application token with the install's, then ask the portal
 * `user.current` with that AUTH_ID — a forged token gets no user.
 */
export interface FrameUser {
  id: number;
  departments: number[];
  name: string;
  /** A portal administrator (user.admin with the frame's own token): may open the connection checks. */
  admin: boolean;
}

export class FrameAuthError extends NamedError {
  constructor(
    readonly reason: 'not_installed' | 'other_portal' | 'bad_token' | 'inactive' | 'unreachable',
    message: string,
  ) {
    super(message);
  }
}

export interface Portal {
  /** `https://portal/rest/` of the installed application (or the webhook's portal). */
  restBase: string;
  memberId: string | null;
  applicationToken: string | null;
}

export async function authenticateFrame(form: Record<string, unknown>, portal: Portal | null, timeoutMs = 5000): Promise<FrameUser> {
  if (!portal) throw new FrameAuthError('not_installed', 'the Bitrix24 application is not installed');
  const text = (k: string) => (typeof form[k] === 'string' ? (form[k] as string) : '');
  const authId = text('AUTH_ID');
  if (!authId) throw new FrameAuthError('bad_token', 'no AUTH_ID: open the page from Bitrix24');
  if (portal.memberId && !sameSecret(text('member_id'), portal.memberId)) throw new FrameAuthError('other_portal', 'the page was opened from another portal');
  const appToken = text('APPLICATION_TOKEN');
  if (portal.applicationToken && appToken && !sameSecret(appToken, portal.applicationToken)) throw new FrameAuthError('other_portal', 'the application token does not match the install');
  let res: Response;
  try {
    res = await fetch(`${portal.restBase}user.current.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: authId }),
      signal: AbortSignal.timeout(timeoutMs),
      // A user's token never follows a redirect to another host (a moved portal is configured anew).
      redirect: 'manual',
    });
  } catch (err) {
    throw new FrameAuthError('unreachable', `Bitrix24 did not answer: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { result?: Record<string, unknown> };
  const u = body.result;
  if (!res.ok || !u || !u.ID) throw new FrameAuthError('bad_token', 'Bitrix24 did not accept the frame token');
  if (u.ACTIVE === false || u.ACTIVE === 'N') throw new FrameAuthError('inactive', 'the user is not active');
  const departments = Array.isArray(u.UF_DEPARTMENT) ? u.UF_DEPARTMENT.map(Number).filter(Number.isInteger) : [];
  // Whether the user administers the portal, in the portal's own word; any doubt is "no".
  const admin = await fetch(`${portal.restBase}user.admin.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: authId }),
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'manual',
  })
    .then(async (r) => r.ok && ((await r.json()) as { result?: unknown }).result === true)
    .catch(() => false);
  return { id: Number(u.ID), departments, name: [u.NAME, u.LAST_NAME].filter(Boolean).join(' '), admin };
}

export function mayViewStats(user: FrameUser, allowed: { users: number[]; departments: number[] }): boolean {
  return allowed.users.includes(user.id) || user.departments.some((d) => allowed.departments.includes(d));
}

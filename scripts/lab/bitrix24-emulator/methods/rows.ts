import type { Portal, PortalEntity } from '../portal';
import { RestError } from '../portal';
import type { Auth, Params } from './types';

/** A user as user.get answers it (strings where Bitrix24 gives strings). */
export function userRow(portal: Portal, id: number): Params | null {
  const u = portal.users.get(id);
  return u ? { ID: String(u.ID), ACTIVE: u.ACTIVE, NAME: u.NAME, LAST_NAME: u.LAST_NAME, UF_PHONE_INNER: u.UF_PHONE_INNER, UF_DEPARTMENT: u.UF_DEPARTMENT, IS_ONLINE: 'N' } : null;
}

/** A CRM record as crm.*.get and crm.*.list answer it. */
export function entityRow(e: PortalEntity): Params {
  return {
    ID: String(e.ID),
    TITLE: e.TITLE,
    NAME: e.NAME,
    ASSIGNED_BY_ID: String(e.ASSIGNED_BY_ID),
    SOURCE_ID: e.SOURCE_ID,
    ORIGIN_ID: e.ORIGIN_ID,
    ORIGINATOR_ID: e.ORIGINATOR_ID,
    STATUS_ID: e.STATUS_ID,
    DATE_CREATE: e.DATE_CREATE,
    HAS_PHONE: e.PHONE.length ? 'Y' : 'N',
    PHONE: e.PHONE.map((x) => ({ ...x, ID: String(x.ID), TYPE_ID: 'PHONE' })),
  };
}

/** Methods Bitrix24 refuses to webhooks (app.info, event.*: b24restdocs local-integrations/local-webhooks.md). */
export function appOnly(auth: Auth): void {
  if (auth.kind !== 'app') throw new RestError(401, 'ACCESS_DENIED', 'Access denied! Application context required');
}

import { randomBytes } from 'node:crypto';
import { RestError, type EntityType } from '../portal';
import type { EmulatedCall, MethodTable, PortalState } from './types';

/** Bitrix24's CALL_ID format (as register answers in b24restdocs): externalCall.<32 hex>.<unix ts>. */
export const newCallId = () => `externalCall.${randomBytes(16).toString('hex')}.${Math.floor(Date.now() / 1000)}`;

/** voximplant.line.get: the portal's own lines and the applications' external lines (REST_APP:<app>:<number>). */
function voximplantLines(state: PortalState): Record<string, string> {
  const own: Record<string, string> = { reg150907: 'SIP line', sip7: 'Office PBX 1' };
  for (const l of state.lines.values()) own[`REST_APP:7:${l.NUMBER}`] = l.NAME;
  return own;
}

/** telephony.externalLine.* and voximplant.line.*: the application's lines and the portal's default outgoing line. */
const lineMethods: MethodTable = {
  'telephony.externalLine.add': ({ state, p }) => {
    const number = String(p.NUMBER ?? '');
    if (!number) throw new RestError(400, 'ERROR_CORE', 'NUMBER is empty');
    if (state.lines.has(number)) throw new RestError(400, 'ERROR_CORE', 'Line already exists');
    state.lines.set(number, { NUMBER: number, NAME: String(p.NAME ?? number), CRM_AUTO_CREATE: String(p.CRM_AUTO_CREATE ?? 'Y') });
    return { ID: state.lines.size };
  },
  'telephony.externalLine.get': ({ state }) => [...state.lines.values()],
  'telephony.externalLine.delete': ({ state, p }) => state.lines.delete(String(p.NUMBER ?? '')),
  'voximplant.line.get': ({ state }) => voximplantLines(state),
  'voximplant.line.outgoing.get': ({ state }) => state.defaultOutgoingLine,
  'voximplant.line.outgoing.set': ({ state, p }) => {
    if (!state.mayManageNumbers) throw new RestError(403, 'ACCESS_DENIED', 'Access denied');
    // As documented: an unknown LINE_ID still answers 1 and changes nothing.
    const id = String(p.LINE_ID ?? '');
    if (id in voximplantLines(state)) state.defaultOutgoingLine = id;
    return 1;
  },
};

/** telephony.externalCall.*: finding the caller's records, registering and finishing calls, the call card. */
const callMethods: MethodTable = {
  'telephony.externalCall.searchCrmEntities': ({ state, p }) => {
    const phone = String(p.PHONE_NUMBER ?? '').trim();
    if (!phone) throw new RestError(400, 'ERROR_CORE', 'PHONE_NUMBER is empty');
    const out: unknown[] = [];
    // As Bitrix24's own code does: the duplicate criterion with a limit of one per type — the oldest (lowest id).
    for (const type of ['CONTACT', 'LEAD', 'COMPANY'] as EntityType[]) {
      for (const id of state.portal
        .findByPhone(type, [phone])
        .sort((a, b) => a - b)
        .slice(0, 1)) {
        const e = state.portal.get(type, id)!;
        const u = state.portal.users.get(e.ASSIGNED_BY_ID);
        out.push({
          CRM_ENTITY_TYPE: type,
          CRM_ENTITY_ID: id,
          ASSIGNED_BY_ID: e.ASSIGNED_BY_ID,
          NAME: e.NAME || e.TITLE,
          ASSIGNED_BY: u ? { ID: u.ID, TIMEMAN_STATUS: 'OPENED', USER_PHONE_INNER: u.UF_PHONE_INNER, WORK_PHONE: '', PERSONAL_PHONE: '', PERSONAL_MOBILE: '' } : null,
        });
      }
    }
    return out;
  },
  'telephony.externalCall.register': ({ state, p }) => {
    const inner = String(p.USER_PHONE_INNER ?? '');
    const userId = Number(p.USER_ID ?? 0) || ([...state.portal.users.values()].find((u) => inner && u.ACTIVE && u.UF_PHONE_INNER === inner)?.ID ?? 0);
    const user = state.portal.users.get(userId);
    if (!userId && !inner) throw new RestError(400, 'ERROR_CORE', 'USER_ID or USER_PHONE_INNER should be set');
    if (!user || !user.ACTIVE) throw new RestError(400, 'ERROR_CORE', 'User is not found or is not active');
    const type = Number(p.TYPE);
    if (![1, 2, 3, 4, 5].includes(type)) throw new RestError(400, 'ERROR_CORE', 'Unknown TYPE');
    const phone = String(p.PHONE_NUMBER ?? '');
    if (!phone) throw new RestError(400, 'ERROR_CORE', 'Unsupported phone number format');
    const ext = String(p.EXTERNAL_CALL_ID ?? '');
    // The 30-minute reuse rule (b24restdocs, telephony-external-call-register.md): same number, type, user, line and EXTERNAL_CALL_ID → same CALL_ID.
    const line = String(p.LINE_NUMBER ?? '');
    const again =
      state.calls.find(
        (c) =>
          c.origin === 'rest' &&
          c.PHONE_NUMBER === phone &&
          c.TYPE === type &&
          c.USER_ID === userId &&
          c.EXTERNAL_CALL_ID === ext &&
          c.LINE_NUMBER === line &&
          Date.now() - c.registeredAt < 30 * 60_000,
      ) ?? (state.switches.reuseOpenCallId ? state.calls.find((c) => c.origin === 'rest' && c.PHONE_NUMBER === phone && c.USER_ID === userId && !c.finished) : undefined);
    const entityType = String(p.CRM_ENTITY_TYPE ?? '');
    const entityId = Number(p.CRM_ENTITY_ID ?? 0);
    const call: EmulatedCall = again ?? {
      CALL_ID: newCallId(),
      EXTERNAL_CALL_ID: ext,
      USER_ID: userId,
      PHONE_NUMBER: phone,
      TYPE: type,
      LINE_NUMBER: line,
      CRM_ENTITY_TYPE: entityType,
      CRM_ENTITY_ID: entityId,
      registeredAt: Date.now(),
      origin: 'rest',
      finished: null,
    };
    if (!again) state.calls.push(call);
    if (!again && Number(p.CRM_CREATE) === 1 && !entityType) {
      if (state.switches.leadCreation === 'disabled') {
        return {
          CALL_ID: call.CALL_ID,
          CRM_CREATED_LEAD: null,
          CRM_CREATED_ENTITIES: [],
          CRM_ENTITY_TYPE: '',
          CRM_ENTITY_ID: null,
          LEAD_CREATION_ERROR: 'Lead creation is disabled for local users',
        };
      }
      const lead = state.portal.addEntity('LEAD', { TITLE: `${phone} - call`, ASSIGNED_BY_ID: userId, phones: [phone], SOURCE_ID: 'CALL', ORIGIN_ID: '', ORIGINATOR_ID: '' });
      Object.assign(call, { CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY_ID: lead.ID });
      setImmediate(() => void state.crmChanged('LEAD', lead.ID, 'ADD'));
      return { CALL_ID: call.CALL_ID, CRM_CREATED_LEAD: lead.ID, CRM_CREATED_ENTITIES: [{ ENTITY_TYPE: 'LEAD', ENTITY_ID: lead.ID }], CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY_ID: lead.ID };
    }
    return { CALL_ID: call.CALL_ID, CRM_CREATED_LEAD: null, CRM_CREATED_ENTITIES: [], CRM_ENTITY_TYPE: call.CRM_ENTITY_TYPE, CRM_ENTITY_ID: call.CRM_ENTITY_ID };
  },
  'telephony.externalCall.finish': ({ state, p }) => {
    if (typeof p.CALL_ID !== 'string') throw new RestError(400, 'INVALID_ARGUMENT', 'CALL_ID must be a string');
    const call = state.calls.find((c) => c.CALL_ID === p.CALL_ID && !c.finished);
    if (!call) throw new RestError(400, '', 'Call is not found (call should be registered prior to finishing');
    const duration = Number(p.DURATION ?? 0);
    const finisher = Number(p.USER_ID ?? call.USER_ID);
    if (!state.portal.users.get(finisher)?.ACTIVE) throw new RestError(400, 'ERROR_CORE', 'User is not found or is not active');
    call.finished = { STATUS_CODE: String(p.STATUS_CODE ?? (duration > 0 ? '200' : '304')), DURATION: duration, FAILED_REASON: String(p.FAILED_REASON ?? ''), at: Date.now() };
    return {
      CALL_ID: call.CALL_ID,
      EXTERNAL_CALL_ID: call.EXTERNAL_CALL_ID,
      PORTAL_USER_ID: String(call.USER_ID),
      PHONE_NUMBER: call.PHONE_NUMBER,
      INCOMING: String(call.TYPE),
      CALL_DURATION: String(duration),
      CALL_FAILED_CODE: call.finished.STATUS_CODE,
      CRM_ENTITY_TYPE: call.CRM_ENTITY_TYPE,
      CRM_ENTITY_ID: String(call.CRM_ENTITY_ID),
    };
  },
  'telephony.externalCall.show': ({ state, p }) => state.calls.some((c) => c.CALL_ID === p.CALL_ID),
  'telephony.externalCall.hide': ({ state, p }) => state.calls.some((c) => c.CALL_ID === p.CALL_ID),
};

export const telephonyMethods: MethodTable = { ...lineMethods, ...callMethods };

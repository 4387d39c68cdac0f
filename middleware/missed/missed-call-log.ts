import moment from 'moment-timezone';
import type { CrmDirectory } from '../bitrix24/crm-directory';
import { finishOnce, holdCallId, releaseCallId } from '../calls/call-log';
import type { Bitrix24Client } from '../bitrix24/rest-client';
import { candidates, type CrmEntityType } from '../lookup/caller-match';
import { normalisePhone, type PhoneRules } from '../lookup/phone-number';
import { ENSURE_LEAD, leadKey, type EnsureLeadPayload, type EnsureLeadResult } from '../lookup/unknown-caller';
import type { Attempt, Handler, Outbox } from '../outbox';
import type { Store } from '../store';
import { UTC_TEXT } from '../stats/period';
import { callSeconds, type AbandonedCall } from './abandoned-calls';

/**
 * The outbox job that puts one abandoned UCCX call into Bitrix24 as a missed call: on the record the UCCX script
 * named (customVariable2 = TYPE:ID), else the one with the caller's number, else a new lead for the "unprocessed"
 * user; registered as inbound with a unique EXTERNAL_CALL_ID (so no other call shares its CALL_ID) under the
 * record's responsible (or the unprocessed user), then finished with 304 — Bitrix24's missed-call status.
 * Each step's result is kept, so a retry after a crash goes on where it stopped and nothing is done twice.
 */
export const LOG_MISSED_CALL = 'missed.log';
export const missedKey = (c: Pick<AbandonedCall, 'sessionId' | 'nodeId'>) => `missed:${c.nodeId}:${c.sessionId}`;

interface Progress {
  entity?: { type: CrmEntityType; id: number; userId: number };
  callId?: string;
  finished?: boolean;
}

const REF = /^(CONTACT|LEAD|COMPANY):(\d{1,12})$/;

export function missedCallHandler(deps: {
  client: Bitrix24Client;
  directory: CrmDirectory;
  store: Store;
  unprocessedUserId: number;
  rules: PhoneRules;
  leadTitle: (e164: string) => string;
  outbox: () => Outbox;
  /** Shorter missed calls (a hang-up during the greeting) are logged on a record that exists, but make no lead. */
  shortSeconds?: number;
}): Handler {
  const { client, directory, store } = deps;
  const activeOrUnprocessed = async (userId: number | null) => {
    if (userId === null) return deps.unprocessedUserId;
    const u = await directory.getUser(userId);
    return u?.active ? userId : deps.unprocessedUserId;
  };

  return async ({ payload, previousAttempts }: Attempt) => {
    const call = payload as AbandonedCall;
    const key = `missed.progress.${missedKey(call)}`;
    const progress: Progress = (await store.getKv<Progress>(key)) ?? {};
    const save = () => store.setKv(key, progress);
    const phone = normalisePhone(call.caller, deps.rules);
    if (!phone.ok) return { skipped: `caller number not usable: ${phone.reason}` };

    if (!progress.entity) {
      const ref = REF.exec(call.crmRef);
      if (ref) {
        const type = ref[1] as CrmEntityType;
        const rec = await client.call<Record<string, unknown> | null>(`crm.${type.toLowerCase()}.get`, { id: Number(ref[2]) }).catch(() => null);
        if (rec) progress.entity = { type, id: Number(ref[2]), userId: await activeOrUnprocessed(Number(rec.ASSIGNED_BY_ID) || null) };
      }
      if (!progress.entity) {
        const best = candidates(await directory.findByPhone(phone.phone.variants))[0];
        if (best) progress.entity = { type: best.type, id: best.id, userId: await activeOrUnprocessed(best.responsibleId) };
        else if (callSeconds(call) < (deps.shortSeconds ?? 0)) {
          return { skipped: `short abandon (${callSeconds(call)} s, under ${deps.shortSeconds} s): counted, no lead for a caller not in the CRM` };
        } else {
          // The caller's lead is made by the one job every path shares (key lead:<number>): a lookup of the same
          // caller, a missed call, a retry after a crash — one lead, whoever comes first.
          const outbox = deps.outbox();
          const job: EnsureLeadPayload = {
            digits: phone.phone.digits,
            e164: phone.phone.e164,
            variants: phone.phone.variants,
            callId: `uccx-${call.sessionId}`,
            title: deps.leadTitle(phone.phone.e164),
            searched: true,
          };
          const item = await outbox.deliver((await outbox.enqueue(leadKey(phone.phone.digits), ENSURE_LEAD, job)).id);
          if (item.state !== 'done') throw new Error(`the caller's lead is not made yet (${item.lastError ?? 'pending'})`);
          const lead = item.result as EnsureLeadResult;
          progress.entity = { type: lead.type, id: lead.id, userId: lead.type === 'LEAD' ? deps.unprocessedUserId : await activeOrUnprocessed(null) };
        }
      }
      await save();
    }
    const e = progress.entity;
    if (!progress.callId) {
      const r = await client.call<{ CALL_ID?: string }>('telephony.externalCall.register', {
        USER_ID: e.userId,
        PHONE_NUMBER: phone.phone.e164,
        TYPE: 2,
        CALL_START_DATE: moment.utc(call.startUtc, UTC_TEXT).format('YYYY-MM-DDTHH:mm:ssZ'),
        CRM_CREATE: 0,
        CRM_ENTITY_TYPE: e.type,
        CRM_ENTITY_ID: e.id,
        SHOW: 0,
        ADD_TO_CHAT: 0,
        EXTERNAL_CALL_ID: `uccx-${call.nodeId}-${call.sessionId}`,
      });
      if (!r?.CALL_ID) throw new Error('telephony.externalCall.register returned no CALL_ID');
      // The CALL_ID of an agent's call still open on this number (Bitrix24 may hand it back): finishing it with 304
      // would end that call as missed. This one waits and registers again once that call is finished.
      await holdCallId(store, r.CALL_ID, missedKey(call));
      progress.callId = r.CALL_ID;
      await save();
    }
    if (!progress.finished) {
      await finishOnce(client, { CALL_ID: progress.callId, USER_ID: e.userId, DURATION: 0, STATUS_CODE: '304', ADD_TO_CHAT: 0 }, previousAttempts);
      progress.finished = true;
      await save();
      await releaseCallId(store, progress.callId);
    }
    return { callId: progress.callId, entity: `${e.type}:${e.id}`, userId: e.userId };
  };
}

import type { CallReport } from '../../protocol/agent-api';
import { HttpError } from '../http-errors';

/**
 * A call report from the gadget (protocol/agent-api.ts), validated, and how it goes into Bitrix24.
 */
export type CallRecord = CallReport;

const DAY_MS = 86_400_000;

/** Validates a report from the gadget; a bad one is refused with the reason, never half-stored. */
export function parseCallRecord(body: unknown, now = Date.now()): CallRecord {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const bad = (what: string): never => {
    throw new HttpError(400, `call report: ${what}`);
  };
  const str = (k: string, re: RegExp) => (typeof b[k] === 'string' && re.test(b[k] as string) ? (b[k] as string) : bad(`"${k}" is missing or malformed`));
  const time = (k: string, optional: boolean): number | null => {
    const v = b[k];
    if ((v === null || v === undefined) && optional) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v - now) > DAY_MS) return bad(`"${k}" must be a time in ms within a day of now`);
    return v;
  };
  const direction = b.direction === 'inbound' || b.direction === 'outbound' ? b.direction : bad('"direction" must be inbound or outbound');
  const rec: CallRecord = {
    dialogId: str('dialogId', /^[\w.-]{1,64}$/),
    direction,
    number: str('number', /^[\w+#*().\s-]{1,40}$/),
    startedAt: time('startedAt', false)!,
    answeredAt: time('answeredAt', true),
    endedAt: time('endedAt', true),
    failure: typeof b.failure === 'string' && /^[A-Z_]{1,40}$/.test(b.failure) ? b.failure : null,
    crmRef: typeof b.crmRef === 'string' && /^(CONTACT|LEAD|COMPANY):\d{1,12}$/.test(b.crmRef) ? b.crmRef : null,
    ...(b.partial === true ? { partial: true } : {}),
    ...(b.inside === true ? { inside: true } : {}),
  };
  if (rec.answeredAt !== null && rec.answeredAt < rec.startedAt) bad('"answeredAt" is before "startedAt"');
  if (rec.endedAt !== null && rec.endedAt < (rec.answeredAt ?? rec.startedAt)) bad('"endedAt" is before the call started or was answered');
  return rec;
}

/**
 * One call seen by several reports (tabs of the agent, a gadget reloaded mid-call), in whatever order they come: the
 * earliest start and answer, the latest end — each tab saw the call's events a little late, never early — and
 * whatever is known of the rest. A partial report's end is only when it first saw the call over (perhaps long after),
 * so it ends a call nobody else saw end, and never lengthens one. Pure.
 */
export function mergeRecords(known: CallRecord | null, r: CallRecord): CallRecord {
  if (!known) return { ...r };
  const earliest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
  const latest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));
  // A partial report only knows when it saw the end: its start and answer times are not the call's.
  const start = r.partial ? known.startedAt : Math.min(known.startedAt, r.startedAt);
  const answered = r.partial ? known.answeredAt : earliest(known.answeredAt, r.answeredAt);
  const merged: CallRecord = {
    ...known,
    startedAt: start,
    answeredAt: answered,
    endedAt: r.partial ? (known.endedAt ?? r.endedAt) : latest(known.endedAt, r.endedAt),
    failure: known.failure ?? r.failure,
    crmRef: known.crmRef ?? r.crmRef,
  };
  delete merged.partial;
  // Still inside the switch only while every report says so: once one saw it go out (OUT), it is a customer call.
  delete merged.inside;
  if (known.inside && r.inside) merged.inside = true;
  return merged;
}

/**
 * Bitrix24's STATUS_CODE and DURATION for a finished call (b24restdocs: api-reference/telephony/telephony-external-call-finish.md): answered → 200 with the
 * talk time; an inbound call nobody answered → 304 (Bitrix24's missed call); an outbound one → 486 busy,
 * 404 bad number, 480 no answer or other failure.
 */
export function callOutcome(r: CallRecord): { statusCode: string; duration: number } {
  const end = r.endedAt ?? r.answeredAt ?? r.startedAt;
  if (r.answeredAt !== null) return { statusCode: '200', duration: Math.max(0, Math.round((end - r.answeredAt) / 1000)) };
  if (r.direction === 'inbound') return { statusCode: '304', duration: 0 };
  if (r.failure === 'BUSY') return { statusCode: '486', duration: 0 };
  if (r.failure === 'BAD_DESTINATION') return { statusCode: '404', duration: 0 };
  return { statusCode: '480', duration: 0 };
}

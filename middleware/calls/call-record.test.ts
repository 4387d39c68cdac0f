import { HttpError } from '../http-errors';
import { callOutcome, mergeRecords, parseCallRecord, type CallRecord } from './call-record';

const t0 = 1_790_000_000_000;
const base: CallRecord = { dialogId: '16777301', direction: 'inbound', number: '79001112233', startedAt: t0, answeredAt: null, endedAt: null, failure: null, crmRef: null };

describe('callOutcome', () => {
  it.each<[string, Partial<CallRecord>, { statusCode: string; duration: number }]>([
    ['inbound answered: talk time from answer to end', { answeredAt: t0 + 4000, endedAt: t0 + 65_400 }, { statusCode: '200', duration: 61 }],
    ['inbound never answered: missed', { endedAt: t0 + 15_000 }, { statusCode: '304', duration: 0 }],
    ['outbound busy', { direction: 'outbound', failure: 'BUSY', endedAt: t0 + 2000 }, { statusCode: '486', duration: 0 }],
    ['outbound bad number', { direction: 'outbound', failure: 'BAD_DESTINATION', endedAt: t0 + 2000 }, { statusCode: '404', duration: 0 }],
    ['outbound not answered', { direction: 'outbound', endedAt: t0 + 30_000 }, { statusCode: '480', duration: 0 }],
    ['outbound answered', { direction: 'outbound', answeredAt: t0 + 3000, endedAt: t0 + 8000 }, { statusCode: '200', duration: 5 }],
  ])('%s', (_name, change, expected) => {
    expect(callOutcome({ ...base, ...change })).toEqual(expected);
  });
});

describe('parseCallRecord', () => {
  it('accepts a gadget report and keeps only known fields', () => {
    const r = parseCallRecord({ ...base, answeredAt: t0 + 1, extra: 'x', crmRef: 'CONTACT:42' }, t0);
    expect(r).toEqual({ ...base, answeredAt: t0 + 1, crmRef: 'CONTACT:42' });
  });

  it.each([
    [{ ...base, direction: 'sideways' }, 'call report: "direction" must be inbound or outbound'],
    [{ ...base, dialogId: '<script>' }, 'call report: "dialogId" is missing or malformed'],
    [{ ...base, startedAt: 'yesterday' }, 'call report: "startedAt" must be a time in ms within a day of now'],
    [{ ...base, endedAt: t0 - 10 }, 'call report: "endedAt" is before the call started or was answered'],
    [null, 'call report: "direction" must be inbound or outbound'],
  ])('refuses %p with a clear reason', (body, message) => {
    expect(() => parseCallRecord(body, t0)).toThrow(new HttpError(400, message));
  });
});

describe('mergeRecords', () => {
  it('two complete reports of one call, in either order: the earliest answer and the latest end', () => {
    const early = { ...base, answeredAt: t0 + 2000, endedAt: t0 + 30_000 }; // this tab saw the answer at once
    const late = { ...base, answeredAt: t0 + 10_000, endedAt: t0 + 30_400 }; // this one late, and the end a bit later
    const whole = { ...base, answeredAt: t0 + 2000, endedAt: t0 + 30_400 };
    expect(mergeRecords(early, late)).toEqual(whole);
    expect(mergeRecords(late, early)).toEqual(whole);
    expect(callOutcome(whole)).toEqual({ statusCode: '200', duration: 28 });
  });

  it('a partial report never lengthens a call another report saw end', () => {
    const ended = { ...base, answeredAt: t0 + 1000, endedAt: t0 + 20_000 };
    const reloadedLater = { ...base, startedAt: t0 + 90_000, endedAt: t0 + 90_000, partial: true };
    expect(mergeRecords(ended, reloadedLater)).toEqual(ended);
  });

  it('keeps the earliest start and answer and the end across reports of one dialog', () => {
    const tabA = { ...base, answeredAt: t0 + 3000 };
    const tabB = { ...base, startedAt: t0 + 20_000, answeredAt: t0 + 20_000, endedAt: t0 + 60_000 };
    expect(mergeRecords(tabA, tabB)).toEqual({ ...base, answeredAt: t0 + 3000, endedAt: t0 + 60_000 });
    expect(mergeRecords(null, tabB)).toEqual(tabB);
  });

  it('takes only the end (and what else is missing) from a partial report', () => {
    const partial = { ...base, startedAt: t0 + 50_000, endedAt: t0 + 50_000, crmRef: 'LEAD:310', partial: true };
    expect(mergeRecords({ ...base, answeredAt: t0 + 1000 }, partial)).toEqual({ ...base, answeredAt: t0 + 1000, endedAt: t0 + 50_000, crmRef: 'LEAD:310' });
  });
});

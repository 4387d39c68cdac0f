import { TestStores } from '../../testing/stores';
import { createLogger, SecretScrubber } from '../log';
import { logSink } from '../../testing/log-sink';
import { CallTrace, maskNumber, outboxStep } from './call-trace';
import { summarize, timelineText } from './timeline';
import type { OutboxItem } from '../outbox';

const RULES = { countryCode: '7', nationalLength: 10, trunkPrefix: '8', outsidePrefixes: [] };
const stores = new TestStores();
afterEach(() => stores.cleanup());
afterAll(() => stores.stop());

const item = (kind: string, payload: unknown, attempts = 1): OutboxItem =>
  ({ id: 1, key: 'k', kind, payload, state: 'done', attempts, nextAt: 0, lastError: null, result: null }) as unknown as OutboxItem;

describe.each(['sqlite', 'postgres'] as const)('call traces on %s', (kind) => {
  it("links a call's steps from any of its ids — lookup, pop, report, register, finish — and says where it stopped", async () => {
    const store = await stores.open(kind);
    const sink = logSink();
    const trace = new CallTrace(store, createLogger('info', new SecretScrubber(), sink.stream as never), { keepMs: 86_400_000, numbers: 'masked', rules: RULES });
    const t0 = Date.now() - 60_000;
    trace.record({ kind: 'lookup', at: t0, outcome: 'found', number: '89123456789', callId: '501', data: { route: 'agent', extension: '1021' } });
    trace.record({ kind: 'pop', at: t0 + 1000, outcome: 'opened', agent: '1001', dialogId: '16777301', number: '89123456789', data: { target: 'CONTACT:42' } });
    trace.record({ kind: 'report', at: t0 + 2000, outcome: 'answered', agent: '1001', dialogId: '16777301', number: '89123456789' });
    trace.record({
      ...outboxStep(item('call.register', { agentId: '1001', record: { dialogId: '16777301', number: '89123456789' } }), { kind: 'retry', reason: 'QUERY_LIMIT_EXCEEDED', retryInMs: 1000 })!,
      at: t0 + 2500,
    });
    trace.record({
      ...outboxStep(item('call.register', { agentId: '1001', record: { dialogId: '16777301', number: '89123456789' } }, 2), {
        kind: 'delivered',
        result: { callId: 'externalCall.abc.1', userId: 5 },
      })!,
      at: t0 + 3000,
    });
    trace.record({
      ...outboxStep(item('call.finish', { agentId: '1001', dialogId: '16777301', click: null }), { kind: 'delivered', result: { callId: 'externalCall.abc.1', statusCode: '200', duration: 12 } })!,
      at: t0 + 4000,
    });
    // Another call of another number, not part of it.
    trace.record({ kind: 'lookup', at: t0 + 500, outcome: 'degraded', number: '84951112233', callId: '502' });
    expect(trace.idle).toBe(false); // batched: nothing is written in a step's own path
    await trace.flush();
    expect(trace.idle).toBe(true);

    const byDialog = await trace.find('16777301');
    expect(byDialog.map((s) => `${s.kind}:${s.outcome}`)).toEqual(['lookup:found', 'pop:opened', 'report:answered', 'register:retry in 1 s: QUERY_LIMIT_EXCEEDED', 'register:ok', 'finish:ok']);
    expect(byDialog.find((s) => s.kind === 'register' && s.outcome === 'ok')).toMatchObject({ b24CallId: 'externalCall.abc.1', number: '+79123456789', agent: '1001' });
    // From Bitrix24's CALL_ID back to the dialog, and from the number (in any form) to everything of it.
    expect((await trace.find('externalCall.abc.1')).map((s) => s.kind)).toEqual(['lookup', 'pop', 'report', 'register', 'register', 'finish']);
    expect((await trace.find('+7 (912) 345-67-89')).map((s) => s.kind)).toEqual(['lookup', 'pop', 'report', 'register', 'register', 'finish']);
    expect(await trace.find('nothing-like-it')).toEqual([]);
    expect(summarize(byDialog, 'en')).toBe('The call is in Bitrix24: registered and finished.');
    expect(timelineText(byDialog, 'ru', 'Europe/Moscow')).toMatch(/ lookup {4}found {9}number=\+79123456789 {2}callId=501 {2}route=agent {2}extension=1021\n/);
    // One log line per step, the number masked.
    const lines = sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.trace);
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatchObject({ level: 30, trace: 'lookup', outcome: 'found', number: '+7912***89', callId: '501', msg: 'call lookup: found' });
    expect(JSON.stringify(lines)).not.toContain('79123456789');
    // Kept days only.
    expect(await trace.prune(t0 + 86_400_000 + 1)).toBe(1); // the first lookup only
    expect(await trace.prune(t0 + 86_400_000 + 10_000)).toBe(6);
  });
});

describe('where a call stopped', () => {
  const step = (kind: string, outcome: string, data: Record<string, unknown> = {}) =>
    ({ kind, outcome, at: 0, number: null, callId: null, dialogId: null, b24CallId: null, agent: null, data }) as never;
  it.each([
    [[step('lookup', 'found', { route: 'agent' })], 'The lookup answered, but no gadget reported a pop'],
    [[step('lookup', 'degraded', { route: 'queue' })], 'Only the lookup'],
    [[step('lookup', 'found'), step('pop', 'opened')], 'The call popped, but no gadget reported it'],
    [[step('pop', 'opened'), step('report', 'ended'), step('register', 'retry in 4 s: Bitrix24 unavailable')], 'Stopped at: register — retry in 4 s: Bitrix24 unavailable'],
    [[step('missed', 'ok')], 'A missed call, logged in Bitrix24.'],
    [[step('lookup', 'found'), step('pop', 'opened'), step('report', 'ringing'), step('register', 'ok'), step('report', 'answered')], 'The call is going on'],
    [[], 'No step of a call matches.'],
  ])('%#', (steps, said) => expect(summarize(steps as never, 'en')).toContain(said));
  it('masks the middle of a number', () => expect([maskNumber('+79123456789'), maskNumber('1021')]).toEqual(['+7912***89', '***']));
});

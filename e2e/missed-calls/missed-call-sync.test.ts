import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import moment from 'moment-timezone';
import { RestError } from '../../scripts/lab/bitrix24-emulator/portal';
import { startStack, type Stack } from '../../scripts/lab/lab-stack';
import { parseConfig } from '../../middleware/config';
import { Connector } from '../../middleware/connector';
import { holdCallId, releaseCallId } from '../../middleware/calls/call-log';
import { insertCall, seedConfig } from '../../testing/ccdr-stand-in';
import { SqliteCcdrSource } from '../../middleware/stats/ccdr-source';
import { periodToUtc, UTC_TEXT } from '../../middleware/stats/period';

/** Abandoned UCCX calls become missed calls in Bitrix24 (register TYPE 2 + finish 304), each exactly once. */
describe('missed calls from UCCX into Bitrix24', () => {
  const dir = mkdtempSync(join(tmpdir(), 'missed-'));
  const path = join(dir, 'db_cra.sqlite');
  const writer = new SqliteCcdrSource(path, { writable: true });
  let stack: Stack;
  const abandoned = (session: number, start: string, caller: string, crmRef = '') =>
    insertCall(writer.db, { session, start, caller, crmRef, disposition: 1, queues: [{ csq: 9, disposition: 1, queueTime: 20, met: false }] });

  beforeAll(async () => {
    seedConfig(writer.db);
    abandoned(201, '2024-03-01 06:00:00.000', '89123456789', 'CONTACT:42'); // owner Ivan (5)
    abandoned(202, '2024-03-01 06:10:00.000', '89001112233'); // LEAD 310 by number, owner Maria (6)
    abandoned(203, '2024-03-01 06:20:00.000', '79990001111'); // unknown: a lead for the unprocessed user
    abandoned(204, '2024-03-01 06:30:00.000', '84951112233', 'CONTACT:43'); // owner fired → unprocessed user
    abandoned(205, '2024-03-01 06:40:00.000', ''); // anonymous: nothing to log
    insertCall(writer.db, {
      session: 206,
      start: '2024-03-01 06:50:00.000',
      disposition: 2,
      queues: [{ csq: 9, disposition: 2, queueTime: 5, met: true }],
      agents: [{ resource: 12, ring: 3, talk: 60, hold: 0, work: 0 }],
    });
    stack = await startStack({ mode: 'app', dataDir: join(dir, 'data'), env: { CCDR_SQLITE_PATH: path, MISSED_CALLS_POLL_S: '0' } });
  });
  afterAll(async () => {
    await stack.stop();
    await writer.close();
  });

  async function drain(c: Connector, keys: string[], ms = 15000): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      await c.outbox.runDue();
      if ((await Promise.all(keys.map((k) => c.outbox.get(k)))).every((i) => i?.state === 'done')) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('outbox did not drain');
  }

  it('logs each abandoned call of a period on the right record, under the right user, with status 304', async () => {
    const c = stack.connector;
    const keys = await c.missedCalls!.enqueuePeriod(periodToUtc('2024-03-01', '2024-03-01', 'Europe/Moscow'));
    expect(keys).toHaveLength(5);
    await drain(c, keys);
    // The outbox delivers concurrently: compare in a fixed order.
    const calls = stack.emulator.calls
      .map((x) => ({ user: x.USER_ID, phone: x.PHONE_NUMBER, type: x.TYPE, entity: `${x.CRM_ENTITY_TYPE}:${x.CRM_ENTITY_ID}`, status: x.finished?.STATUS_CODE }))
      .sort((a, b) => a.phone.localeCompare(b.phone));
    const newLead = stack.emulator.portal.leadsWithPhone('+79990001111')[0]!;
    expect(calls).toEqual([
      { user: 9, phone: '+74951112233', type: 2, entity: 'CONTACT:43', status: '304' },
      { user: 6, phone: '+79001112233', type: 2, entity: 'LEAD:310', status: '304' },
      { user: 5, phone: '+79123456789', type: 2, entity: 'CONTACT:42', status: '304' },
      { user: 9, phone: '+79990001111', type: 2, entity: `LEAD:${newLead.ID}`, status: '304' },
    ]);
    expect(newLead).toMatchObject({ ASSIGNED_BY_ID: 9, ORIGIN_ID: 'uccx-203' });
    expect(new Set(stack.emulator.calls.map((x) => x.EXTERNAL_CALL_ID)).size).toBe(4);
    expect((await c.outbox.get('missed:1:205'))?.result).toEqual({ skipped: expect.stringContaining('caller number not usable') });
  });

  it('a rerun logs nothing twice', async () => {
    const c = stack.connector;
    const keys = await c.missedCalls!.enqueuePeriod(periodToUtc('2024-03-01', '2024-03-01', 'Europe/Moscow'));
    await drain(c, keys);
    expect(stack.emulator.calls).toHaveLength(4);
  });

  it('a failure between register and finish is finished later, registered once', async () => {
    abandoned(207, '2024-03-01 07:00:00.000', '89123456789', 'CONTACT:42');
    stack.emulator.switches.failNext.set('telephony.externalCall.finish', new RestError(500, 'INTERNAL_SERVER_ERROR', 'Unexpected database error'));
    const c = stack.connector;
    const keys = await c.missedCalls!.enqueuePeriod(periodToUtc('2024-03-01', '2024-03-01', 'Europe/Moscow'));
    await drain(c, keys);
    const mine = stack.emulator.calls.filter((x) => x.EXTERNAL_CALL_ID === 'uccx-1-207');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.finished?.STATUS_CODE).toBe('304');
    expect((await c.outbox.get('missed:1:207'))!.attempts).toBe(2);
  });

  it('the poller picks up newly ended calls once, across a restart', async () => {
    const c = stack.connector;
    expect(await c.missedCalls!.pollOnce()).toBe(0); // the watermark starts at "now": the past is for backfill
    // As if the middleware had been running for a while: a call ends after the watermark.
    await c.store.setKv('missed.watermark', { endUtc: moment.utc().subtract(10, 'minutes').format(UTC_TEXT), sessionId: '' });
    const start = moment.utc().subtract(5, 'minutes').format(UTC_TEXT);
    abandoned(208, start, '89001112233');
    expect(await c.missedCalls!.pollOnce()).toBe(1);
    await drain(c, ['missed:1:208']);
    const restarted = new Connector(parseConfig({ ...stack.env, CCDR_SQLITE_PATH: path, MISSED_CALLS_POLL_S: '0' }));
    try {
      expect(await restarted.missedCalls!.pollOnce()).toBe(0);
    } finally {
      await restarted.stop(100);
    }
    expect(stack.emulator.calls.filter((x) => x.EXTERNAL_CALL_ID === 'uccx-1-208')).toHaveLength(1);
  });

  it('a row UCCX wrote late (ending before the watermark) is still logged, once: each poll looks back', async () => {
    const c = stack.connector;
    await c.store.setKv('missed.watermark', { endUtc: moment.utc().subtract(3, 'minutes').format(UTC_TEXT), sessionId: '' });
    // Written only now, though the call ended 8 minutes ago (the standby node lagging).
    abandoned(209, moment.utc().subtract(8, 'minutes').format(UTC_TEXT), '89001112233');
    expect(await c.missedCalls!.pollOnce()).toBe(1);
    await drain(c, ['missed:1:209']);
    expect(await c.missedCalls!.pollOnce()).toBe(0);
    expect(stack.emulator.calls.filter((x) => x.EXTERNAL_CALL_ID === 'uccx-1-209')).toHaveLength(1);
  });

  it('a hang-up during the greeting makes no lead for a caller not in the CRM, but is logged on a record that exists', async () => {
    const c = stack.connector;
    insertCall(writer.db, { session: 210, start: '2024-03-02 06:00:00.000', caller: '79990002222', disposition: 1, seconds: 3 });
    insertCall(writer.db, { session: 211, start: '2024-03-02 06:01:00.000', caller: '89123456789', crmRef: 'CONTACT:42', disposition: 1, seconds: 3 });
    const keys = await c.missedCalls!.enqueuePeriod(periodToUtc('2024-03-02', '2024-03-02', 'Europe/Moscow'));
    await drain(c, keys);
    expect((await c.outbox.get('missed:1:210'))?.result).toEqual({ skipped: expect.stringContaining('short abandon (3 s, under 5 s)') });
    expect(stack.emulator.portal.leadsWithPhone('+79990002222')).toHaveLength(0);
    expect(stack.emulator.calls.filter((x) => x.EXTERNAL_CALL_ID === 'uccx-1-211')).toMatchObject([{ CRM_ENTITY_TYPE: 'CONTACT', CRM_ENTITY_ID: 42 }]);
  });

  it("a missed call that Bitrix24 gives the CALL_ID of an agent's call still open never finishes that call: it waits and gets its own", async () => {
    const c = stack.connector;
    stack.emulator.switches.reuseOpenCallId = true;
    try {
      // An agent's call with the same caller and user, registered by the call log and still going.
      const open = await c.client.call<{ CALL_ID: string }>('telephony.externalCall.register', { USER_ID: 5, PHONE_NUMBER: '+79123456789', TYPE: 2, EXTERNAL_CALL_ID: 'finesse-agent-open' });
      await holdCallId(c.store, open.CALL_ID, 'call-register:ivan:open');
      insertCall(writer.db, { session: 212, start: '2024-03-03 06:00:00.000', caller: '89123456789', crmRef: 'CONTACT:42', disposition: 1, seconds: 40 });
      const keys = await c.missedCalls!.enqueuePeriod(periodToUtc('2024-03-03', '2024-03-03', 'Europe/Moscow'));
      await c.outbox.runDue();
      expect(await c.outbox.get(keys[0]!)).toMatchObject({ state: 'pending', lastError: expect.stringMatching(/still holds open/) });
      const agentCall = () => stack.emulator.calls.find((x) => x.CALL_ID === open.CALL_ID)!;
      expect(agentCall().finished).toBeNull(); // not ended as a missed call
      await c.client.call('telephony.externalCall.finish', { CALL_ID: open.CALL_ID, USER_ID: 5, DURATION: 95, STATUS_CODE: '200' });
      await releaseCallId(c.store, open.CALL_ID);
      await drain(c, keys, 60_000);
      const missed = stack.emulator.calls.filter((x) => x.EXTERNAL_CALL_ID === 'uccx-1-212');
      expect(missed).toHaveLength(1);
      expect(missed[0]!.CALL_ID).not.toBe(open.CALL_ID);
      expect(missed[0]!.finished?.STATUS_CODE).toBe('304');
      expect(agentCall().finished).toMatchObject({ STATUS_CODE: '200', DURATION: 95 });
    } finally {
      stack.emulator.switches.reuseOpenCallId = false;
    }
  });
});

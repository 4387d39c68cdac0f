import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertCall } from '../../testing/ccdr-stand-in';
import type { SqliteCcdrSource } from './ccdr-source';
import { periodToUtc } from './period';
import { LiveFacts } from './report-facts';
import { Reports } from './reports';
import { fixture } from '../../testing/reports-fixture';
import { StatsRollup } from './rollup';

/** The rollup answers exactly what the call records answer (reports.test.ts computes those by hand). */
describe('statistics rollup', () => {
  let source: SqliteCcdrSource;
  let dir: string;
  let now = Date.parse('2024-03-05T12:00:00Z');
  const rollups: StatsRollup[] = [];
  const open = (sourceId = 'a', over: Partial<{ daysPerRefresh: number }> = {}) => {
    const r = new StatsRollup(join(dir, 'rollup.sqlite'), new LiveFacts(source), { sourceId, settleMs: 2 * 3_600_000, verifyDays: 7, keepDays: 10, daysPerRefresh: 31, now: () => now, ...over });
    rollups.push(r);
    return r;
  };
  const all = async (reports: Reports, from: string, to: string, zone = 'Europe/Moscow') => {
    const p = periodToUtc(from, to, zone);
    return {
      csq: await reports.csqActivity(p),
      sales: await reports.csqActivity(p, { csq: 'Sales' }),
      agents: await reports.agentSummary(p),
      petrova: await reports.agentSummary(p, { agent: 'petrova' }),
      abandoned: await reports.abandoned(p),
      abandonedSupport: await reports.abandoned(p, { csq: 'Support' }),
      hours: await reports.volume(p, 'hour'),
      days: await reports.volume(p, 'day'),
    };
  };

  beforeEach(() => {
    source = fixture();
    dir = mkdtempSync(join(tmpdir(), 'rollup-'));
    now = Date.parse('2024-03-05T12:00:00Z');
  });
  afterEach(async () => {
    for (const r of rollups.splice(0)) await r.close();
    await source.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives every report and filter the same answer as the call records, over rolled-up days', async () => {
    const rollup = open();
    expect(await rollup.refresh()).toBe(10); // 4 March back to 24 February
    expect(rollup.status()).toMatchObject({ days: 10, newest: '2024-03-04', lastError: null });
    for (const [from, to] of [
      ['2024-03-01', '2024-03-01'],
      ['2024-02-29', '2024-03-02'],
    ]) {
      expect(await all(new Reports(rollup, 'https://crm.example'), from!, to!)).toEqual(await all(new Reports(source, 'https://crm.example'), from!, to!));
    }
    // In a zone behind UTC the local day takes parts of two UTC days.
    expect(await all(new Reports(rollup, null), '2024-02-29', '2024-03-01', 'America/New_York')).toEqual(await all(new Reports(source, null), '2024-02-29', '2024-03-01', 'America/New_York'));
  });

  it('reads the days it has not rolled up from the call records (a day not yet settled)', async () => {
    now = Date.parse('2024-03-02T01:00:00Z'); // 1 March ended an hour ago: not settled, read live
    const rollup = open();
    await rollup.refresh();
    expect(rollup.status().newest).toBe('2024-02-29');
    expect(await all(new Reports(rollup, null), '2024-02-29', '2024-03-02')).toEqual(await all(new Reports(source, null), '2024-02-29', '2024-03-02'));
  });

  it('serves rolled-up days from itself; a day that gained rows is read live at once and rolled up again', async () => {
    const rollup = open();
    await rollup.refresh();
    const day = periodToUtc('2024-03-01', '2024-03-01', 'Europe/Moscow');
    const before = (await new Reports(rollup, null).volume(day, 'day'))[0]!;
    // Changed in place (UCCX does not do this): the rollup does not see it — proof that it answers from itself.
    source.db.prepare('UPDATE contactcalldetail SET contactdisposition = 2 WHERE sessionid = 3').run();
    expect((await new Reports(rollup, null).volume(day, 'day'))[0]).toEqual(before);
    // A call of 1 March written late (the standby node lagging): the day's legs no longer match — read live now...
    insertCall(source.db, { session: 90, start: '2024-03-01 12:00:00.000', disposition: 1, caller: '79007770000', queues: [{ csq: 8, disposition: 1, queueTime: 9, met: true }] });
    now += 20_000; // past the reuse of the last check
    expect(await all(new Reports(rollup, null), '2024-03-01', '2024-03-01')).toEqual(await all(new Reports(source, null), '2024-03-01', '2024-03-01'));
    expect((await new Reports(rollup, null).abandoned(day, { csq: 'Support' })).map((r) => r.caller)).toEqual(['79007770000']);
    // ...and rolled up again by the refresh the check started.
    await rollup.refresh();
    expect(await rollup.refresh()).toBe(0);
    source.db.prepare('UPDATE contactcalldetail SET contactdisposition = 1 WHERE sessionid = 3').run();
    expect((await new Reports(rollup, null).volume(day, 'day'))[0]).toEqual({ ...before, presented: before.presented + 1, handled: before.handled + 1 });
  });

  it('keeps the doubled hour of a DST end as two hours, like the call records', async () => {
    for (const [i, start] of ['2024-10-26 22:10:00.000', '2024-10-27 00:20:00.000', '2024-10-27 00:50:00.000', '2024-10-27 01:05:00.000', '2024-10-27 22:59:59.000'].entries()) {
      insertCall(source.db, { session: 300 + i, start, disposition: 1, caller: `30${i}`, queues: [{ csq: 9, disposition: 1, queueTime: 2, met: true }] });
    }
    now = Date.parse('2024-10-29T12:00:00Z');
    const rollup = open();
    await rollup.refresh();
    const day = periodToUtc('2024-10-27', '2024-10-27', 'Europe/Berlin');
    const hours = await new Reports(rollup, null).volume(day, 'hour');
    expect(hours.map((h) => [h.bucket, h.presented])).toEqual([
      ['2024-10-27 00:00+02:00', 1],
      ['2024-10-27 02:00+02:00', 2],
      ['2024-10-27 02:00+01:00', 1],
      ['2024-10-27 23:00+01:00', 1],
    ]);
    expect(await all(new Reports(rollup, null), '2024-10-26', '2024-10-28', 'Europe/Berlin')).toEqual(await all(new Reports(source, null), '2024-10-26', '2024-10-28', 'Europe/Berlin'));
  });

  it('reads a year in bounded steps, newest days first', async () => {
    const rollup = open('a', { daysPerRefresh: 3 });
    expect(await rollup.refresh()).toBe(3);
    expect(rollup.status()).toMatchObject({ days: 3, newest: '2024-03-04' });
    expect(await rollup.refresh()).toBe(3);
    expect(rollup.status().days).toBe(6);
  });

  it('starts afresh for other call records, and keeps it when they stay', async () => {
    await open('a').refresh();
    await rollups.pop()!.close();
    expect(open('a').status().days).toBe(10);
    await rollups.pop()!.close();
    expect(open('b').status().days).toBe(0);
  });

  it('says why a refresh failed; the reports still answer from the call records', async () => {
    const rollup = open();
    source.db.exec('ALTER TABLE agentconnectiondetail RENAME TO acd_gone');
    await expect(rollup.refresh()).rejects.toThrow(/agentconnectiondetail/);
    expect(rollup.status()).toMatchObject({ days: 0, lastError: expect.stringMatching(/agentconnectiondetail/) });
    source.db.exec('ALTER TABLE acd_gone RENAME TO agentconnectiondetail');
    expect(await all(new Reports(rollup, null), '2024-03-01', '2024-03-01')).toEqual(await all(new Reports(source, null), '2024-03-01', '2024-03-01'));
  });
});

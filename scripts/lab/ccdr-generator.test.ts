import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteCcdrSource } from '../../middleware/stats/ccdr-source';
import { periodToUtc } from '../../middleware/stats/period';
import { Reports } from '../../middleware/stats/reports';
import { fillStandIn } from './ccdr-generator';

describe('CCDR generator', () => {
  it('fills a month that the reports read consistently, deterministic for a seed', async () => {
    const make = () => {
      const s = new SqliteCcdrSource(join(mkdtempSync(join(tmpdir(), 'gen-')), 'db.sqlite'), { writable: true });
      const n = fillStandIn(s.db, { from: '2024-03-01', days: 31, timeZone: 'Europe/Berlin', callsPerDay: 200 });
      return { s, n };
    };
    const a = make();
    const b = make();
    expect(a.n).toBe(b.n);
    expect(a.n).toBeGreaterThan(31 * 60);
    const reports = new Reports(a.s, null);
    const month = periodToUtc('2024-03-01', '2024-03-31', 'Europe/Berlin');
    const csq = await reports.csqActivity(month);
    expect(csq.map((r) => r.csq)).toEqual(['Sales', 'Support']);
    for (const r of csq) expect(r.presented).toBe(r.handled + r.abandoned + r.dequeued + r.handledByOther + r.unknownDisposition);
    const days = await reports.volume(month, 'day');
    expect(days).toHaveLength(31);
    expect(days.reduce((s, d) => s + d.presented, 0)).toBe(a.n);
    const dst = await reports.volume(periodToUtc('2024-03-31', '2024-03-31', 'Europe/Berlin'), 'hour');
    expect(dst.some((h) => h.bucket.startsWith('2024-03-31 02:00'))).toBe(false); // that hour does not exist
    await a.s.close();
    await b.s.close();
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteCcdrSource } from '../../middleware/stats/ccdr-source';
import { fillStandIn } from '../lab/ccdr-generator';
import { f, verdict } from './stats';

/**
 * A month's report over a million generated records in the embedded store: time and peak memory, SQL vs row by row.
 * "Records" are db_cra rows (a call writes about three: CCD, CQD, ACD); the same is measured at a million calls.
 */
async function measure(label: string, calls: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'stats-bench-'));
  const path = join(dir, 'db_cra.sqlite');
  try {
    const s = new SqliteCcdrSource(path, { writable: true });
    s.db.pragma('journal_mode = OFF');
    s.db.pragma('synchronous = OFF');
    // Weekends carry 30 % of a weekday: scale so the month holds about `calls` calls.
    const n = fillStandIn(s.db, { from: '2024-03-01', days: 31, timeZone: 'Europe/Berlin', callsPerDay: Math.round((calls / 31) * 1.32) });
    const records = ['contactcalldetail', 'contactqueuedetail', 'agentconnectiondetail']
      .map((t) => (s.db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n)
      .reduce((a, b) => a + b, 0);
    await s.close();
    const run = (mode: 'build' | 'rollup' | 'sql' | 'rows') =>
      JSON.parse(execFileSync(join(__dirname, '../../node_modules/.bin/tsx'), [join(__dirname, 'stats-child.ts'), path, mode, join(dir, 'rollup.sqlite')], { encoding: 'utf8' })) as {
        ms: number;
        peakRssMb: number;
        check: number;
      };
    const build = run('build');
    const served = run('rollup');
    const sql = run('sql');
    const rows = run('rows');
    console.log(`   ${label}: ${records.toLocaleString('en')} records (${n.toLocaleString('en')} calls)`);
    console.log(`     four reports, rollup:   ${f(served.ms / 1000)} s, peak ${f(served.peakRssMb)} MB   (goal ≤ 1.5 s: ${verdict(served.ms <= 1500)}, ≤ 250 MB: ${verdict(served.peakRssMb <= 250)})`);
    console.log(`     rolling up ${build.check} days:   ${f(build.ms / 1000)} s in the background (${f(build.ms / build.check / 1000)} s a day), peak ${f(build.peakRssMb)} MB`);
    console.log(`     four reports, call records directly (today's part, or rollup off): ${f(sql.ms / 1000)} s, peak ${f(sql.peakRssMb)} MB`);
    console.log(`     two reports row by row: ${f(rows.ms / 1000)} s, peak ${f(rows.peakRssMb)} MB   → SQL ${f(rows.ms / sql.ms)}× the speed, ${f(rows.peakRssMb / sql.peakRssMb)}× less memory`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function statsBench(): Promise<void> {
  console.log('\n6. Statistics: the month of March 2024 (Europe/Berlin, with its DST change) in the embedded store');
  await measure('a million records', 1_000_000 / 3.1);
  await measure('a million calls', 1_000_000);
}

import { coreOrExplain, runCli } from './cli';
import { periodToUtc, PeriodError } from '../middleware/stats/period';

/**
 * `npm run backfill -- --from YYYY-MM-DD --to YYYY-MM-DD`: logs the period's abandoned UCCX calls in Bitrix24 as
 * missed calls, with a progress bar. Same configuration as the middleware; run it while the middleware is stopped
 * (one process per DATA_DIR). Safe to rerun: a call already logged is not logged again.
 */
function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? '') : '';
}

function bar(done: number, total: number, failing: number): string {
  const width = 30;
  const filled = total ? Math.round((done / total) * width) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} logged${failing ? `, ${failing} retrying` : ''}`;
}

async function main(): Promise<number> {
  const core = await coreOrExplain();
  if (!core) return 2;
  try {
    if (!core.missedCalls) {
      process.stderr.write('no call records configured: set CCDR_SQLITE_PATH or CCDR_ODBC_CONNECTION\n');
      return 2;
    }
    let period;
    try {
      period = periodToUtc(arg('from'), arg('to'), core.config.stats.timeZone);
    } catch (err) {
      if (err instanceof PeriodError) {
        process.stderr.write(`${err.message} (usage: npm run backfill -- --from YYYY-MM-DD --to YYYY-MM-DD)\n`);
        return 2;
      }
      throw err;
    }
    const keys = await core.missedCalls.enqueuePeriod(period);
    const deadline = Date.now() + Number(process.env.BACKFILL_TIMEOUT_S ?? 600) * 1000;
    for (;;) {
      await core.outbox.runDue();
      const items = await Promise.all(keys.map(async (k) => (await core.outbox.get(k))!));
      const done = items.filter((i) => i.state === 'done').length;
      const failing = items.filter((i) => i.state === 'pending' && i.lastError).length;
      process.stderr.write(`\r${bar(done, keys.length, failing)}`);
      if (done === keys.length) break;
      if (Date.now() > deadline) {
        process.stderr.write(`\n${keys.length - done} not logged yet (last error: ${items.find((i) => i.lastError)?.lastError ?? 'none'}); they stay queued and are sent when the middleware runs.\n`);
        return 1;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    process.stderr.write(`\n${keys.length} missed calls of ${period.from}..${period.to} (${period.timeZone}) are in Bitrix24.\n`);
    return 0;
  } finally {
    await core.close(1000);
  }
}

runCli('backfill', main);

import type { Context } from 'koa';
import type { Period } from '../stats/period';
import { toCsv, type CsvDialect } from '../stats/table-output';
import { toXlsx } from '../stats/xlsx-output';

/** A report's rows as a file download, for the statistics API and the page alike: CSV in `dialect`, or a workbook. */
export async function sendTable(ctx: Context, rows: object[], report: string, period: Pick<Period, 'from' | 'to'>, format: 'csv' | 'xlsx', dialect: CsvDialect): Promise<void> {
  ctx.set('Content-Disposition', `attachment; filename="${report}-${period.from}-${period.to}.${format}"`);
  if (format === 'xlsx') {
    ctx.type = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
    ctx.body = await toXlsx(rows, report);
    return;
  }
  ctx.type = 'text/csv; charset=utf-8';
  ctx.body = toCsv(rows, dialect);
}

/** The live queues' last snapshot, from the reader's memory (never a database read per request). */
export function sendLiveJson(ctx: Context, live: { currentJson(): string }): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = live.currentJson();
}

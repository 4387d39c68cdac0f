import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fillStandIn } from '../../scripts/lab/ccdr-generator';
import { startStack, type Stack } from '../../scripts/lab/lab-stack';
import { SqliteCcdrSource } from '../../middleware/stats/ccdr-source';
import { REPORT_NAMES } from '../../middleware/stats/reports';
import { runMarker } from '../../testing/node-process';

/** One CSV line into its cells (`;`, quotes doubled inside quoted cells). */
function cells(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted && c === '"' && line[i + 1] === '"') {
      cur += '"';
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (c === ';' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  return [...out, cur];
}

/** The rows of a flat ODS file as LibreOffice wrote them: each cell's type and value (repeated cells spread out). */
function sheetRows(fods: string): Array<Array<{ type: string | null; value: string }>> {
  return [...fods.matchAll(/<table:table-row[^>]*>([\s\S]*?)<\/table:table-row>/g)].map((row) => {
    const out: Array<{ type: string | null; value: string }> = [];
    for (const c of row[1]!.matchAll(/<table:table-cell([^>]*?)(?:\/>|>([\s\S]*?)<\/table:table-cell>)/g)) {
      const attrs = c[1]!;
      const type = /office:value-type="(\w+)"/.exec(attrs)?.[1] ?? null;
      const value = /office:value="([^"]*)"/.exec(attrs)?.[1] ?? (c[2] ?? '').replace(/<[^>]+>/g, '').trim();
      const times = Number(/table:number-columns-repeated="(\d+)"/.exec(attrs)?.[1] ?? 1);
      for (let i = 0; i < Math.min(times, 64); i++) out.push({ type, value });
    }
    return out;
  });
}

// A hang guard: LibreOffice's first start on a loaded machine takes seconds.
jest.setTimeout(120_000);

/**
 * The reports' CSV as a Russian-speaking manager opens it: LibreOffice Calc headless, Russian locale and its list
 * separator, every report into the right columns and its numbers as numbers (the way Excel in a Russian locale reads
 * a CSV with a BOM, `;` and decimal commas). LibreOffice missing is a failure, not a skip: `npm test` installs it.
 */
describe('the statistics CSV in a spreadsheet (ru)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'csv-lo-'));
  let stack: Stack;
  beforeAll(async () => {
    const s = new SqliteCcdrSource(join(dir, 'db_cra.sqlite'), { writable: true });
    fillStandIn(s.db, { from: '2024-03-01', days: 7, timeZone: 'Europe/Moscow', callsPerDay: 80 });
    await s.close();
    stack = await startStack({ mode: 'app', env: { CCDR_SQLITE_PATH: join(dir, 'db_cra.sqlite'), STATS_ALLOWED_USERS: '2', STATS_API_TOKEN: 'xlsx-test-token' } });
  });
  afterAll(async () => {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every report opens in LibreOffice Calc with the Russian locale into its columns, numbers as numbers', async () => {
    const session = stack.connector.pageSessions.issue(2);
    const files: string[] = [];
    const csv: Record<string, string> = {};
    for (const report of REPORT_NAMES) {
      const res = await fetch(`${stack.url}/bitrix/app/csv/${report}?${new URLSearchParams({ s: session, lang: 'ru', from: '2024-03-01', to: '2024-03-07' })}`);
      expect(res.status).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      csv[report] = bytes.toString('utf8').slice(1);
      files.push(join(dir, `${report}.csv`));
      writeFileSync(files[files.length - 1]!, bytes);
    }
    // CSV:<separator 59 = ;>,<quote 34 = ">,<charset 76 = UTF-8>,<first line 1>,,<language 1049 = Russian>
    await new Promise<void>((resolve, reject) =>
      execFile(
        'soffice',
        [`-env:UserInstallation=file://${join(dir, 'lo-profile')}`, '--headless', '--infilter=CSV:59,34,76,1,,1049', '--convert-to', 'fods', '--outdir', join(dir, 'out'), ...files],
        { env: { ...process.env, ...runMarker(), LANG: 'ru_RU.UTF-8', HOME: dir } },
        (err, _out, stderr) => (err ? reject(new Error(`LibreOffice: ${err.message} ${stderr}`)) : resolve()),
      ),
    );
    for (const report of REPORT_NAMES) {
      const lines = csv[report]!.split('\r\n').filter(Boolean);
      const sheet = sheetRows(readFileSync(join(dir, 'out', `${report}.fods`), 'utf8'));
      expect({ report, rows: sheet.length }).toEqual({ report, rows: lines.length });
      expect(lines.length).toBeGreaterThan(1);
      let numbers = 0;
      lines.forEach((line, i) => {
        const want = cells(line);
        const got = sheet[i]!.slice(0, want.length);
        want.forEach((text, col) => {
          if (/^-?\d+(,\d+)?$/.test(text)) {
            numbers += 1;
            expect({ report, row: i, col, type: got[col]?.type, value: Number(got[col]?.value) }).toEqual({ report, row: i, col, type: 'float', value: Number(text.replace(',', '.')) });
          } else if (text) expect({ report, row: i, col, value: got[col]?.value }).toEqual({ report, row: i, col, value: text });
        });
        // Nothing spilled into a column of its own.
        expect(sheet[i]!.slice(want.length).every((c) => c.type === null && c.value === '')).toBe(true);
      });
      expect({ report, numbers: numbers > 0 }).toEqual({ report, numbers: true });
    }
    // Decimal commas really occur (averages and shares).
    expect(csv.csq).toMatch(/;\d+,\d+/);
  });

  it('every report downloads as XLSX with typed cells: numbers as numbers, callers as text', async () => {
    const session = stack.connector.pageSessions.issue(2);
    const files: string[] = [];
    const json: Record<string, Array<Record<string, string | number | null>>> = {};
    const query = { from: '2024-03-01', to: '2024-03-07' };
    for (const report of REPORT_NAMES) {
      const res = await fetch(`${stack.url}/bitrix/app/xlsx/${report}?${new URLSearchParams({ s: session, lang: 'ru', ...query })}`);
      expect([res.status, res.headers.get('content-type')]).toEqual([200, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet']);
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${report}-2024-03-01-2024-03-07.xlsx"`);
      files.push(join(dir, `${report}.xlsx`));
      writeFileSync(files[files.length - 1]!, Buffer.from(await res.arrayBuffer()));
      json[report] = (await (await fetch(`${stack.url}/api/stats/${report}?${new URLSearchParams(query)}`, { headers: { authorization: 'Bearer xlsx-test-token' } })).json()).rows;
    }
    await new Promise<void>((resolve, reject) =>
      execFile(
        'soffice',
        [`-env:UserInstallation=file://${join(dir, 'lo-profile')}`, '--headless', '--convert-to', 'fods', '--outdir', join(dir, 'xlsx-out'), ...files],
        { env: { ...process.env, ...runMarker(), LANG: 'ru_RU.UTF-8', HOME: dir } },
        (err, _out, stderr) => (err ? reject(new Error(`LibreOffice: ${err.message} ${stderr}`)) : resolve()),
      ),
    );
    let callers = 0;
    for (const report of REPORT_NAMES) {
      const rows = json[report]!;
      expect(rows.length).toBeGreaterThan(0);
      const head = Object.keys(rows[0]!);
      const sheet = sheetRows(readFileSync(join(dir, 'xlsx-out', `${report}.fods`), 'utf8')).filter((r) => r.some((c) => c.value !== ''));
      expect({ report, rows: sheet.length, head: sheet[0]!.slice(0, head.length).map((c) => c.value) }).toEqual({ report, rows: rows.length + 1, head });
      rows.forEach((row, i) =>
        head.forEach((h, col) => {
          const v = row[h];
          const got = sheet[i + 1]![col];
          if (typeof v === 'number') expect({ report, h, type: got?.type, value: Number(got?.value) }).toEqual({ report, h, type: 'float', value: v });
          else if (v) expect({ report, h, type: got?.type, value: got?.value }).toEqual({ report, h, type: 'string', value: v });
        }),
      );
      // Callers all digits (as UCCX writes them): a CSV's reader makes numbers of them, the workbook keeps text.
      if (report === 'abandoned') callers = rows.filter((r) => typeof r.caller === 'string' && /^\+?\d{6,}$/.test(r.caller)).length;
    }
    expect(callers).toBeGreaterThan(0);
  });
});

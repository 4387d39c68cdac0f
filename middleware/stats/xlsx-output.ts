import type { SheetData } from 'write-excel-file/node' with { 'resolution-mode': 'import' };

type Write = (data: SheetData, options: { sheet: string; stickyRowsCount: number; columns: Array<{ width: number }> }) => { toBuffer(): Promise<Buffer> };
// The package ships its CommonJS build beside the ES module its types describe: required, typed by those types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const writeXlsxFile = require('write-excel-file/node') as Write;

/**
 * A report as an Excel workbook (write-excel-file, github.com/catamphetamine/write-excel-file): every cell typed, so
 * a spreadsheet never guesses — numbers are numbers in any locale, a caller's number is text (its `+` and leading
 * zeros kept), and a name that looks like a formula is a string cell, never a formula. One sheet, its header bold and
 * frozen.
 */
export async function toXlsx(rows: object[], sheet: string): Promise<Buffer> {
  const head = rows.length ? Object.keys(rows[0]!) : [];
  const cell = (v: unknown) => (typeof v === 'number' ? { type: Number, value: v } : { type: String, value: v === null || v === undefined ? '' : String(v) });
  const data: SheetData = [head.map((h) => ({ type: String, value: h, fontWeight: 'bold' as const })), ...rows.map((r) => head.map((h) => cell((r as Record<string, unknown>)[h])))];
  return writeXlsxFile(head.length ? data : [[{ type: String, value: '' }]], {
    sheet: sheet.slice(0, 31), // Excel's limit for a sheet name
    stickyRowsCount: head.length ? 1 : 0,
    columns: head.map((h) => ({ width: Math.max(10, Math.min(40, h.length + 2)) })),
  }).toBuffer();
}

import { CcdrError } from './ccdr-source';

/**
 * Rows as CSV (RFC 4180, a header line first), safe to open in a spreadsheet: a text cell that starts like a formula
 * (= + - @, tab, carriage return) gets a leading apostrophe (OWASP "CSV injection"), so a CSQ or agent name typed by
 * someone never runs as a formula; numbers stay numbers.
 */
/**
 * How a CSV is written for its reader. Spreadsheets open a CSV with the list and decimal separators of the
 * reader's locale and read UTF-8 only with a byte order mark: for Russian (Excel, LibreOffice) that is `;` and a
 * decimal comma; `machine` (the statistics API) stays the RFC 4180 default, no BOM.
 */
export interface CsvDialect {
  separator: ',' | ';';
  decimal: '.' | ',';
  bom: boolean;
}

export const CSV_MACHINE: CsvDialect = { separator: ',', decimal: '.', bom: false };

/** The dialect a spreadsheet in this language opens into the right columns, numbers as numbers. */
export function csvForSpreadsheet(lang: 'ru' | 'en'): CsvDialect {
  return lang === 'ru' ? { separator: ';', decimal: ',', bom: true } : { separator: ',', decimal: '.', bom: true };
}

export function toCsv(rows: object[], dialect: CsvDialect = CSV_MACHINE): string {
  if (rows.length === 0) return dialect.bom ? '\uFEFF' : '';
  const head = Object.keys(rows[0]!);
  const needsQuotes = dialect.separator === ';' ? /[";\n\r]/ : /[",\n\r;]/;
  const cell = (v: unknown) => {
    if (typeof v === 'number') return dialect.decimal === ',' ? String(v).replace('.', ',') : String(v);
    let s = v === null || v === undefined ? '' : String(v);
    // A text a spreadsheet would run as a formula is kept as text.
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return needsQuotes.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const body = [head.map(cell).join(dialect.separator), ...rows.map((r) => head.map((h) => cell((r as Record<string, unknown>)[h])).join(dialect.separator))].join('\r\n') + '\r\n';
  return (dialect.bom ? '\uFEFF' : '') + body;
}

/** A statistics query with a deadline: a slow database is a CcdrError (503), not a hung page. */
export async function withQueryDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new CcdrError(`the query took longer than ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

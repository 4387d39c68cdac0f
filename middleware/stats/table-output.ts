import { CcdrError } from './ccdr-source';

/**
 * Rows as CSV (RFC 4180, a header line first), safe to open in a spreadsheet: a text cell that starts like a formula
 * (= + - @, tab, carriage return) gets a leading apostrophe (OWASP "CSV injection"), so a CSQ or agent name typed by
 * someone never runs as a formula; numbers stay numbers.
 */
export function toCsv(rows: object[]): string {
  if (rows.length === 0) return '';
  const head = Object.keys(rows[0]!);
  const cell = (v: unknown) => {
    let s = v === null || v === undefined ? '' : String(v);
    if (typeof v !== 'number' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\n\r;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [head.join(','), ...rows.map((r) => head.map((h) => cell((r as Record<string, unknown>)[h])).join(','))].join('\r\n') + '\r\n';
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

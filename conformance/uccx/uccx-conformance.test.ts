import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_KEYS } from '../../middleware/config';
import { CCDR_SCHEMA } from '../../middleware/stats/ccdr-schema';
import { CSQ_COLUMNS, SYSTEM_COLUMNS } from '../../middleware/stats/live-snapshot';
import { emptyDay, UccxRealtimeWriter } from '../../scripts/lab/uccx-realtime-writer';

/** The live queues, the stand-in's real-time tables and the lab's snapshot writer against Cisco's documents. */
const doc = (name: string) => readFileSync(join(__dirname, 'cisco-docs', name), 'utf8');
/** `name | description | storage` rows after the table's header. */
function documentedColumns(text: string): Map<string, string> {
  const rows = text.split('\n').slice(text.split('\n').findIndex((l) => l.startsWith('Field Name | Description | Storage')) + 1);
  return new Map(
    rows
      .map((l) => /^(\w+) \| .* \| (.+)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
}
const TABLES = { rtcsqssummary: documentedColumns(doc('rtcsqssummary-12.5.txt')), rticdstatistics: documentedColumns(doc('rticdstatistics-12.5.txt')) };

describe('UCCX real-time snapshot conformance', () => {
  const db = new Database(':memory:');
  db.exec(CCDR_SCHEMA);
  afterAll(() => db.close());

  it('reads the documents whole (24 columns each)', () => {
    expect(TABLES.rtcsqssummary.size).toBe(24);
    expect(TABLES.rticdstatistics.size).toBe(24);
  });

  it.each(Object.keys(TABLES))('the stand-in %s has exactly the documented columns', (table) => {
    const cols = (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name).sort();
    expect(cols).toEqual([...TABLES[table as keyof typeof TABLES].keys()].sort());
  });

  it('the middleware reads only documented columns', () => {
    for (const c of CSQ_COLUMNS) expect([c, TABLES.rtcsqssummary.has(c)]).toEqual([c, true]);
    for (const c of SYSTEM_COLUMNS) expect([c, TABLES.rticdstatistics.has(c)]).toEqual([c, true]);
    expect(TABLES.rticdstatistics.has('callsdequeued')).toBe(false); // so the totals have no dequeued count
  });

  it("LIVE_INTERVAL_S takes exactly UCCX's Data Writing Interval options (and 0: off)", () => {
    const options = /Valid options: ([\d, and]+)\./
      .exec(doc('realtime-snapshot-config-12.5.txt'))![1]!
      .split(/,\s*|\s+and\s+/)
      .map((x) => x.trim());
    expect(options).toEqual(['5', '10', '15', '20', '25', '30', '60', '90', '120', '150', '180']);
    expect((CONFIG_KEYS.LIVE_INTERVAL_S.kind as { values: readonly string[] }).values).toEqual(['0', ...options]);
  });

  it('the lab writes every documented column: counts, milliseconds that agree with the HH:MM:SS text, UTC to the second', () => {
    const day = { ...emptyDay(), total: 3, handled: 2, abandoned: 1, waitTotalMs: 45_000, waitMaxMs: 30_000, talkTotalMs: 120_000, talkMaxMs: 60_000 };
    const writer = new UccxRealtimeWriter(
      db,
      { csqs: () => [{ name: 'Sales', waitingSince: [Date.parse('2026-12-08T10:00:00Z')], day }], agents: () => ['ready', 'talking', 'reserved', 'loggedOut'] },
      5000,
    );
    writer.write(Date.parse('2026-12-08T10:01:15Z'));
    for (const table of Object.keys(TABLES)) {
      const row = db.prepare(`SELECT * FROM ${table}`).get() as Record<string, string | number | null>;
      for (const c of TABLES[table as keyof typeof TABLES].keys()) expect([table, c, row[c] === null || row[c] === undefined]).toEqual([table, c, false]);
      expect(row.enddatetime).toBe('2026-12-08 10:01:15');
      expect(row.oldestcontact).toBe(75_000);
      expect(row.convoldestcontact).toBe('00:01:15');
      expect(row.convlongestwaitduration).toBe('00:00:30');
      expect(row).toMatchObject({ loggedinagents: 3, availableagents: 1, talkingagents: 1, reservedagents: 1, callswaiting: 1 });
    }
  });
});

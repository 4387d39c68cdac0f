import Database from 'better-sqlite3';
import type { CrmEntityType, CrmMatch, CrmUser } from './caller-match';
import { duplicateIndexForm, normalisePhone, type PhoneNumber, type PhoneRules } from './phone-number';

/**
 * A local copy of who owns which phone number in the CRM (contacts, companies, leads: type, id, name, responsible,
 * created) and of the users' active flag and extension, in a local SQLite file of the node (DATA_DIR/phone-index.sqlite,
 * a cache: each node of a pair keeps its own, so it answers known callers without Bitrix24 and without the shared
 * store): a known caller is routed with no REST
 * request — also while Bitrix24 is slow, down or rate-limited. Built by generations: a sync fills generation N+1
 * while lookups read N, and only a finished sync makes N+1 the one read; a failed or partial sync is never served.
 */
export interface IndexedRecord {
  type: CrmEntityType;
  id: number;
  name: string;
  responsibleId: number | null;
  created: string;
  phones: string[];
}

export interface IndexState {
  /** The generation lookups read; 0: no complete index yet (lookups ask Bitrix24). */
  gen: number;
  builtAt: string | null;
  records: number;
  numbers: number;
  users: number;
  /** A sync under way (or interrupted): its generation and where it stopped, so it resumes there. */
  building: { gen: number; startedAt: string; cursor: Partial<Record<CrmEntityType | 'USER', number>> } | null;
  lastError: string | null;
}

const EMPTY: IndexState = { gen: 0, builtAt: null, records: 0, numbers: 0, users: 0, building: null, lastError: null };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS phone_index (gen INTEGER NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL, id INTEGER NOT NULL,
  PRIMARY KEY (gen, key, type, id));
-- A record's numbers, to replace them when it is read again (without it every write scans the generation).
CREATE INDEX IF NOT EXISTS phone_index_by_record ON phone_index (gen, type, id);
CREATE TABLE IF NOT EXISTS phone_index_record (gen INTEGER NOT NULL, type TEXT NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL,
  responsible INTEGER, created TEXT NOT NULL, PRIMARY KEY (gen, type, id));
CREATE TABLE IF NOT EXISTS phone_index_user (gen INTEGER NOT NULL, id INTEGER NOT NULL, active INTEGER NOT NULL, extension TEXT,
  PRIMARY KEY (gen, id));
CREATE TABLE IF NOT EXISTS phone_index_state (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL);
`;

/** The keys a caller's number is looked up under: its canonical digits and the digits of each variant. */
const lookupKeys = (phone: PhoneNumber) => [...new Set([phone.digits, ...phone.variants.map((v) => v.replace(/\D/g, ''))])];

export class PhoneIndex {
  private readonly db: Database.Database;

  /** `path`: the index's file (':memory:' in tests). */
  constructor(
    path: string,
    private readonly rules: PhoneRules,
  ) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
  }

  state(): IndexState {
    const row = this.db.prepare('SELECT value FROM phone_index_state WHERE id = 1').get() as { value: string } | undefined;
    return { ...EMPTY, ...(row ? (JSON.parse(row.value) as Partial<IndexState>) : {}) };
  }

  private setState(patch: Partial<IndexState>): IndexState {
    const next = { ...this.state(), ...patch };
    this.db.prepare('INSERT OR REPLACE INTO phone_index_state (id, value) VALUES (1, ?)').run(JSON.stringify(next));
    return next;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** The keys a CRM phone value is found under: our canonical digits (the site's rules) and Bitrix24's index form. */
  keysOf(value: string): string[] {
    const keys = new Set<string>();
    const n = normalisePhone(value, this.rules);
    if (n.ok) keys.add(n.phone.digits);
    const dup = duplicateIndexForm(value);
    if (dup.length >= 5) keys.add(dup);
    return [...keys];
  }

  /** The records with this number, or null while there is no complete index (then Bitrix24 decides). */
  find(phone: PhoneNumber): CrmMatch[] | null {
    const { gen } = this.state();
    if (!gen) return null;
    const keys = lookupKeys(phone);
    const rows = this.db
      .prepare(
        // CROSS JOIN keeps the number's rows as the outer loop: with one key SQLite would otherwise scan the records.
        `SELECT DISTINCT r.type, r.id, r.name, r.responsible FROM phone_index k CROSS JOIN phone_index_record r ON r.gen = k.gen AND r.type = k.type AND r.id = k.id
         WHERE k.gen = ? AND k.key IN (${keys.map(() => '?').join(',')})`,
      )
      .all(gen, ...keys) as Array<{ type: CrmEntityType; id: number; name: string; responsible: number | null }>;
    return rows.map((r) => ({ type: r.type, id: r.id, responsibleId: r.responsible, name: r.name }));
  }

  /** A user as the index knows him; undefined: not in the index (or no complete index). */
  user(id: number): CrmUser | undefined {
    const { gen } = this.state();
    if (!gen) return undefined;
    const r = this.db.prepare('SELECT active, extension FROM phone_index_user WHERE gen = ? AND id = ?').get(gen, id) as { active: number; extension: string | null } | undefined;
    return r ? { id, active: r.active === 1, extension: r.extension } : undefined;
  }

  /** Starts a new generation, or resumes the one an interrupted sync left. */
  begin(): { gen: number; cursor: Partial<Record<CrmEntityType | 'USER', number>> } {
    const s = this.state();
    if (s.building) return { gen: s.building.gen, cursor: s.building.cursor };
    const gen = Math.max(s.gen, this.maxGen()) + 1;
    this.db.prepare('DELETE FROM phone_index WHERE gen >= ?').run(gen);
    this.db.prepare('DELETE FROM phone_index_record WHERE gen >= ?').run(gen);
    this.db.prepare('DELETE FROM phone_index_user WHERE gen >= ?').run(gen);
    this.setState({ building: { gen, startedAt: new Date().toISOString(), cursor: {} } });
    return { gen, cursor: {} };
  }

  private maxGen(): number {
    const r = this.db.prepare('SELECT MAX(gen) AS g FROM phone_index_record').get() as { g: number | null };
    return r.g ?? 0;
  }

  /** A page of records into the generation being built, and where the sync got to — one transaction. */
  addRecords(gen: number, records: IndexedRecord[], cursor: { type: CrmEntityType; lastId: number } | null): void {
    this.db.transaction(() => {
      this.write(gen, records);
      if (cursor) this.moveCursor(cursor.type, cursor.lastId);
    })();
  }

  addUsers(gen: number, users: CrmUser[], lastId: number): void {
    const put = this.db.prepare('INSERT OR REPLACE INTO phone_index_user (gen, id, active, extension) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const u of users) put.run(gen, u.id, u.active ? 1 : 0, u.extension);
      this.moveCursor('USER', lastId);
    })();
  }

  private moveCursor(kind: CrmEntityType | 'USER', lastId: number): void {
    const s = this.state();
    if (s.building) this.setState({ building: { ...s.building, cursor: { ...s.building.cursor, [kind]: lastId } } });
  }

  private write(gen: number, records: IndexedRecord[]): void {
    const rec = this.db.prepare('INSERT OR REPLACE INTO phone_index_record (gen, type, id, name, responsible, created) VALUES (?, ?, ?, ?, ?, ?)');
    const drop = this.db.prepare('DELETE FROM phone_index WHERE gen = ? AND type = ? AND id = ?');
    const key = this.db.prepare('INSERT OR IGNORE INTO phone_index (gen, key, type, id) VALUES (?, ?, ?, ?)');
    for (const r of records) {
      rec.run(gen, r.type, r.id, r.name, r.responsibleId, r.created);
      drop.run(gen, r.type, r.id);
      for (const k of new Set(r.phones.flatMap((p) => this.keysOf(p)))) key.run(gen, k, r.type, r.id);
    }
  }

  /** The sync finished: its generation is the one read from now on; older ones go. */
  complete(gen: number): IndexState {
    return this.db.transaction(() => {
      const count = (sql: string) => (this.db.prepare(sql).get(gen) as { n: number }).n;
      const state = this.setState({
        gen,
        builtAt: new Date().toISOString(),
        records: count('SELECT COUNT(*) AS n FROM phone_index_record WHERE gen = ?'),
        numbers: count('SELECT COUNT(DISTINCT key) AS n FROM phone_index WHERE gen = ?'),
        users: count('SELECT COUNT(*) AS n FROM phone_index_user WHERE gen = ?'),
        building: null,
        lastError: null,
      });
      for (const t of ['phone_index', 'phone_index_record', 'phone_index_user']) this.db.prepare(`DELETE FROM ${t} WHERE gen < ?`).run(gen);
      return state;
    })();
  }

  failed(message: string): void {
    this.setState({ lastError: message.slice(0, 300) });
  }

  /** What Bitrix24 said of one number just now (a lookup's confirmation): the served generation follows at once. */
  confirm(phone: PhoneNumber, fresh: CrmMatch[]): void {
    const { gen } = this.state();
    if (!gen) return;
    const keys = lookupKeys(phone);
    // Nearly always Bitrix24 says what the index says: then nothing is written (no transaction, no fsync).
    const now = this.find(phone) ?? [];
    const same = (a: CrmMatch[], b: CrmMatch[]) =>
      a.length === b.length && a.every((x) => b.some((y) => y.type === x.type && y.id === x.id && (y.name ?? '') === (x.name ?? '') && y.responsibleId === x.responsibleId));
    if (same(now, fresh)) return;
    this.db.transaction(() => {
      // Records the index had under this number that Bitrix24 no longer has under it: unlinked from it.
      const stale = this.db.prepare(`SELECT DISTINCT type, id FROM phone_index WHERE gen = ? AND key IN (${keys.map(() => '?').join(',')})`).all(gen, ...keys) as Array<{
        type: CrmEntityType;
        id: number;
      }>;
      const still = new Set(fresh.map((r) => `${r.type}:${r.id}`));
      const unlink = this.db.prepare(`DELETE FROM phone_index WHERE gen = ? AND type = ? AND id = ? AND key IN (${keys.map(() => '?').join(',')})`);
      for (const s of stale) if (!still.has(`${s.type}:${s.id}`)) unlink.run(gen, s.type, s.id, ...keys);
      const rec = this.db.prepare('INSERT OR REPLACE INTO phone_index_record (gen, type, id, name, responsible, created) VALUES (?, ?, ?, ?, ?, ?)');
      const key = this.db.prepare('INSERT OR IGNORE INTO phone_index (gen, key, type, id) VALUES (?, ?, ?, ?)');
      for (const r of fresh) {
        const old = this.db.prepare('SELECT created FROM phone_index_record WHERE gen = ? AND type = ? AND id = ?').get(gen, r.type, r.id) as { created: string } | undefined;
        rec.run(gen, r.type, r.id, r.name ?? '', r.responsibleId, old?.created ?? '');
        for (const k of keys) key.run(gen, k, r.type, r.id);
      }
    })();
  }

  /**
   * A record as Bitrix24 has it now (an event said it changed), or gone: into the served generation and the one a
   * read is building, so neither loses it.
   */
  upsert(record: IndexedRecord | null, type: CrmEntityType, id: number): void {
    const s = this.state();
    const gens = [s.gen, s.building?.gen ?? 0].filter((g) => g > 0);
    this.db.transaction(() => {
      for (const gen of gens) {
        if (record) this.write(gen, [record]);
        else {
          this.db.prepare('DELETE FROM phone_index WHERE gen = ? AND type = ? AND id = ?').run(gen, type, id);
          this.db.prepare('DELETE FROM phone_index_record WHERE gen = ? AND type = ? AND id = ?').run(gen, type, id);
        }
      }
    })();
  }

  /** One user as Bitrix24 gave him (a lookup read him anyway). */
  confirmUser(u: CrmUser): void {
    const { gen } = this.state();
    const known = this.user(u.id);
    if (known && known.active === u.active && known.extension === u.extension) return;
    if (gen) this.db.prepare('INSERT OR REPLACE INTO phone_index_user (gen, id, active, extension) VALUES (?, ?, ?, ?)').run(gen, u.id, u.active ? 1 : 0, u.extension);
  }
}

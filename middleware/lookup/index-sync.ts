import type { LeakyBucket } from '../bitrix24/leaky-bucket';
import type { Bitrix24Client } from '../bitrix24/rest-client';
import type { CrmEntityType, CrmUser } from './caller-match';
import type { IndexedRecord, IndexState, PhoneIndex } from './phone-index';

/**
 * Reads the CRM's phone numbers into the local index, the way b24restdocs tell to read everything
 * (settings/performance/huge-data.md): list methods ordered by ID, filtered by ID, `start=-1` (no total counted).
 * Instead of one page per request, each round asks 50 ranges of 50 IDs — a range never holds more than 50 records,
 * so no page is ever cut — and the client sends the 50 calls as one batch: 2,500 IDs per HTTP request. Rounds wait
 * while the portal's bucket is more than half full, so lookups keep their share. Progress is saved per round: an
 * interrupted sync resumes where it stopped.
 */
const TYPES: CrmEntityType[] = ['CONTACT', 'COMPANY', 'LEAD'];
const RANGE = 50;
const PER_ROUND = 50;
const SELECT = ['ID', 'TITLE', 'NAME', 'LAST_NAME', 'ASSIGNED_BY_ID', 'DATE_CREATE', 'PHONE'];
/** Records written per turn of the event loop. */
const WRITE_SLICE = 100;
/** A type read to its end (an interrupted sync does not read it again). */
const DONE = Number.MAX_SAFE_INTEGER;

export interface SyncProgress {
  kind: CrmEntityType | 'USER';
  /** IDs covered so far, of `of`. */
  done: number;
  of: number;
  records: number;
  requests: number;
}

const toInt = (v: unknown): number | null => {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : null;
};

function recordOf(type: CrmEntityType, r: Record<string, unknown>): IndexedRecord | null {
  const id = toInt(r.ID);
  if (id === null) return null;
  const person = [r.NAME, r.LAST_NAME].filter((v) => typeof v === 'string' && v).join(' ');
  const name = [r.TITLE, person].find((v) => typeof v === 'string' && v.trim());
  const phones = (Array.isArray(r.PHONE) ? r.PHONE : []).map((p) => String((p as { VALUE?: unknown }).VALUE ?? '')).filter(Boolean);
  return { type, id, name: typeof name === 'string' ? name.trim() : '', responsibleId: toInt(r.ASSIGNED_BY_ID), created: String(r.DATE_CREATE ?? ''), phones };
}

export class IndexSync {
  private running: Promise<IndexState> | null = null;
  private requestsAtStart = 0;

  constructor(
    private readonly client: Bitrix24Client,
    private readonly index: PhoneIndex,
    private readonly opts: { bucket?: LeakyBucket; burst?: number; wait?: (ms: number) => Promise<void> } = {},
  ) {}

  /** One full read (or the rest of an interrupted one); one at a time. */
  run(onProgress?: (p: SyncProgress) => void): Promise<IndexState> {
    this.running ??= this.doRun(onProgress).finally(() => (this.running = null));
    return this.running;
  }

  /** HTTP requests this sync has sent (its client is its own). */
  get requests(): number {
    return this.client.counters.requests - this.requestsAtStart;
  }

  private async doRun(onProgress?: (p: SyncProgress) => void): Promise<IndexState> {
    this.requestsAtStart = this.client.counters.requests;
    const { gen, cursor } = this.index.begin();
    try {
      await this.users(gen, cursor.USER ?? 0, onProgress);
      for (const type of TYPES) await this.records(gen, type, cursor[type] ?? 0, onProgress);
      return this.index.complete(gen);
    } catch (err) {
      this.index.failed((err as Error).message);
      throw err;
    }
  }

  /** One record read again (an event said it changed) into the index; gone (deleted, or no longer readable): removed. */
  /** Reads one record again (a CRM event) into the index; returns what it read (null: gone), for the other nodes. */
  async refreshRecord(type: CrmEntityType, id: number, deleted: boolean): Promise<IndexedRecord | null> {
    let record: IndexedRecord | null = null;
    if (!deleted) {
      const row = await this.call<Record<string, unknown> | null>(`crm.${type.toLowerCase()}.get`, { id }).catch((err: Error) => {
        if (/not found/i.test(err.message)) return null;
        throw err;
      });
      record = row ? recordOf(type, row) : null;
    }
    this.index.upsert(record, type, id);
    return record;
  }

  /** Lookups first: a round waits while the shared bucket is more than half full. */
  private async headroom(): Promise<void> {
    const { bucket, burst } = this.opts;
    if (!bucket || !burst) return;
    const wait = this.opts.wait ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref()));
    while (bucket.current() > burst / 2) await wait(250);
  }

  private async call<T>(method: string, params: Record<string, unknown>): Promise<T> {
    return this.client.call<T>(method, params);
  }

  private async users(gen: number, from: number, onProgress?: (p: SyncProgress) => void): Promise<void> {
    // Few (hundreds): user.get pages by `start`, sorted by ID; inactive ones too, so a fired owner routes to the queue.
    let start = from;
    for (;;) {
      await this.headroom();
      const page = await this.call<unknown>('user.get', { sort: 'ID', order: 'ASC', start });
      const rows = (Array.isArray(page) ? page : []) as Array<Record<string, unknown>>;
      const users: CrmUser[] = rows.flatMap((u) => {
        const id = toInt(u.ID);
        if (id === null) return [];
        const ext = typeof u.UF_PHONE_INNER === 'string' ? u.UF_PHONE_INNER.trim() : '';
        return [{ id, active: u.ACTIVE === true || u.ACTIVE === 'Y' || u.ACTIVE === 'true', extension: ext || null }];
      });
      start += rows.length;
      this.index.addUsers(gen, users, start);
      onProgress?.({ kind: 'USER', done: start, of: start, records: users.length, requests: this.requests });
      if (rows.length < 50) return;
    }
  }

  private async records(gen: number, type: CrmEntityType, from: number, onProgress?: (p: SyncProgress) => void): Promise<void> {
    if (from === DONE) return;
    const method = `crm.${type.toLowerCase()}.list`;
    const top = await this.call<unknown>(method, { order: { ID: 'DESC' }, select: ['ID'], start: -1 });
    const maxId = toInt((Array.isArray(top) ? (top[0] as { ID?: unknown } | undefined) : undefined)?.ID) ?? 0;
    let records = 0;
    for (let lo = from; lo < maxId; lo += RANGE * PER_ROUND) {
      await this.headroom();
      const ranges = Array.from({ length: PER_ROUND }, (_, i) => lo + i * RANGE).filter((a) => a < maxId);
      // Called together: the client sends them as one batch.
      const pages = await Promise.all(ranges.map((a) => this.call<unknown>(method, { order: { ID: 'ASC' }, filter: { '>ID': a, '<=ID': a + RANGE }, select: SELECT, start: -1 })));
      const rows = pages.flatMap((p) => (Array.isArray(p) ? (p as Array<Record<string, unknown>>) : [])).flatMap((r) => recordOf(type, r) ?? []);
      records += rows.length;
      const reached = Math.min(lo + ranges.length * RANGE, maxId);
      // Written in slices with a turn of the event loop between: a lookup never waits for a whole round.
      for (let i = 0; i < rows.length; i += WRITE_SLICE) {
        const last = i + WRITE_SLICE >= rows.length;
        this.index.addRecords(gen, rows.slice(i, i + WRITE_SLICE), last ? { type, lastId: reached } : null);
        if (!last) await new Promise<void>((r) => setImmediate(r));
      }
      if (!rows.length) this.index.addRecords(gen, [], { type, lastId: reached });
      onProgress?.({ kind: type, done: reached, of: maxId, records, requests: this.requests });
    }
    this.index.addRecords(gen, [], { type, lastId: DONE });
  }
}

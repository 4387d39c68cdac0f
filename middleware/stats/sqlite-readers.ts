import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * Read-only SQLite connections in worker threads. better-sqlite3 is synchronous: a month's report over a million
 * records would hold the event loop for a second or more — and with it the UCCX lookups, which must answer within
 * their deadline. In workers the reports also run side by side (one per core).
 */
type Row = Record<string, string | number | null>;

// Plain CommonJS, evaluated in the worker: no TypeScript loader exists there under tsx or jest.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
parentPort.on('message', ({ id, sql, params }) => {
  try {
    parentPort.postMessage({ id, rows: db.prepare(sql).all(...params) });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});
`;

interface Slot {
  worker: Worker;
  busy: number;
}

export class SqliteReaders {
  private readonly slots: Slot[] = [];
  private readonly waiting = new Map<number, { resolve: (rows: Row[]) => void; reject: (err: Error) => void; slot: Slot }>();
  private nextId = 0;

  constructor(
    private readonly path: string,
    private readonly size = Math.max(1, Math.min(4, availableParallelism())),
  ) {}

  private slot(): Slot {
    if (this.slots.length < this.size && this.slots.every((s) => s.busy > 0)) {
      const worker = new Worker(WORKER, { eval: true, workerData: { path: this.path, driver: require.resolve('better-sqlite3') } });
      worker.unref();
      const slot: Slot = { worker, busy: 0 };
      worker.on('message', (m: { id: number; rows?: Row[]; error?: string }) => {
        const w = this.waiting.get(m.id);
        if (!w) return;
        this.waiting.delete(m.id);
        w.slot.busy -= 1;
        if (m.error !== undefined) w.reject(new Error(m.error));
        else w.resolve(m.rows ?? []);
      });
      worker.on('error', (err) => this.failAll(slot, err));
      worker.on('exit', () => this.failAll(slot, new Error('the SQLite reader stopped')));
      this.slots.push(slot);
    }
    return this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  private failAll(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    for (const [id, w] of this.waiting) {
      if (w.slot !== slot) continue;
      this.waiting.delete(id);
      w.reject(err);
    }
  }

  query(sql: string, params: Array<string | number>): Promise<Row[]> {
    const slot = this.slot();
    const id = ++this.nextId;
    slot.busy += 1;
    return new Promise<Row[]>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, slot });
      slot.worker.postMessage({ id, sql, params });
    });
  }

  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

import type { Logger } from './log';
import type { Store } from './store';

/**
 * The durable outbox: every write to Bitrix24 that must not be lost or doubled is a row with an idempotency key,
 * written before anyone is told "it will happen". Delivery is retried with capped exponential backoff until it
 * succeeds; the attempt counter is saved before each try, so a handler can tell a first try from a retry after a
 * crash (and check before it writes again). One process owns a DATA_DIR.
 */
export interface OutboxItem {
  id: number;
  key: string;
  kind: string;
  payload: unknown;
  state: 'pending' | 'done';
  attempts: number;
  nextAt: number;
  lastError: string | null;
  result: unknown;
  createdAt: number;
  doneAt: number | null;
}

export interface Attempt {
  payload: unknown;
  /** Tries started before this one (0 on the first try); > 0 means an earlier try may have written. */
  previousAttempts: number;
}

export type Handler = (attempt: Attempt) => Promise<unknown>;

interface Row {
  id: number;
  key: string;
  kind: string;
  payload: string;
  state: 'pending' | 'done';
  attempts: number;
  next_at: number;
  last_error: string | null;
  result: string | null;
  created_at: number;
  done_at: number | null;
}

function toItem(r: Row): OutboxItem {
  return {
    id: r.id,
    key: r.key,
    kind: r.kind,
    payload: JSON.parse(r.payload),
    state: r.state,
    attempts: r.attempts,
    nextAt: r.next_at,
    lastError: r.last_error,
    result: r.result === null ? null : JSON.parse(r.result),
    createdAt: r.created_at,
    doneAt: r.done_at,
  };
}

export interface OutboxOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  pollMs?: number;
  now?: () => number;
  onChange?: () => void;
}

export class Outbox {
  private readonly inflight = new Map<number, Promise<OutboxItem>>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly pollMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    private readonly handlers: Record<string, Handler>,
    private readonly log: Logger,
    private readonly opts: OutboxOptions = {},
  ) {
    this.baseDelayMs = opts.baseDelayMs ?? 1000;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.pollMs = opts.pollMs ?? 250;
    this.now = opts.now ?? Date.now;
  }

  /** Adds the item unless its key is known; returns the stored item either way. */
  enqueue(key: string, kind: string, payload: unknown): OutboxItem {
    if (!this.handlers[kind]) throw new Error(`outbox: no handler for ${kind}`);
    const t = this.now();
    this.store.db
      .prepare(`INSERT INTO outbox (key, kind, payload, state, attempts, next_at, created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT(key) DO NOTHING`)
      .run(key, kind, JSON.stringify(payload), t, t);
    this.opts.onChange?.();
    return this.get(key)!;
  }

  get(key: string): OutboxItem | null {
    const r = this.store.db.prepare('SELECT * FROM outbox WHERE key = ?').get(key) as Row | undefined;
    return r ? toItem(r) : null;
  }

  /** Drops a finished item so its key may be used again. Pending items are never dropped. */
  forgetDone(key: string): void {
    this.store.db.prepare(`DELETE FROM outbox WHERE key = ? AND state = 'done'`).run(key);
  }

  /** Tries the item now (or joins the try under way) and returns its state afterwards. */
  deliver(id: number): Promise<OutboxItem> {
    const running = this.inflight.get(id);
    if (running) return running;
    const p = this.attempt(id).finally(() => this.inflight.delete(id));
    this.inflight.set(id, p);
    return p;
  }

  private async attempt(id: number): Promise<OutboxItem> {
    const row = this.store.db.prepare('SELECT * FROM outbox WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw new Error(`outbox: no item ${id}`);
    if (row.state === 'done') return toItem(row);
    const item = toItem(row);
    const handler = this.handlers[item.kind];
    if (!handler) throw new Error(`outbox: no handler for ${item.kind}`);
    this.store.db.prepare('UPDATE outbox SET attempts = attempts + 1 WHERE id = ?').run(id);
    try {
      const result = await handler({ payload: item.payload, previousAttempts: item.attempts });
      this.store.db
        .prepare(`UPDATE outbox SET state = 'done', result = ?, done_at = ?, last_error = NULL WHERE id = ?`)
        .run(JSON.stringify(result ?? null), this.now(), id);
      this.log.info({ outbox: item.key, kind: item.kind, attempts: item.attempts + 1 }, 'outbox item delivered');
    } catch (err) {
      const tries = item.attempts + 1;
      const backoff = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(tries - 1, 20));
      const delay = Math.round(backoff * (0.75 + Math.random() * 0.5));
      this.store.db
        .prepare('UPDATE outbox SET next_at = ?, last_error = ? WHERE id = ?')
        .run(this.now() + delay, String((err as Error).message ?? err).slice(0, 500), id);
      this.log.warn({ outbox: item.key, kind: item.kind, attempts: tries, retryInMs: delay, err: (err as Error).message }, 'outbox delivery failed, will retry');
    }
    this.opts.onChange?.();
    return toItem(this.store.db.prepare('SELECT * FROM outbox WHERE id = ?').get(id) as Row);
  }

  private due(limit: number): number[] {
    return (
      this.store.db
        .prepare(`SELECT id FROM outbox WHERE state = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?`)
        .all(this.now(), limit) as Array<{ id: number }>
    ).map((r) => r.id);
  }

  /** Delivers every item that is due; resolves when those tries end. */
  async runDue(limit = 100): Promise<void> {
    const ids = this.due(limit).filter((id) => !this.inflight.has(id));
    await Promise.all(ids.map((id) => this.deliver(id)));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = () => {
      if (!this.running) return;
      this.runDue()
        .catch((err) => this.log.error({ err: (err as Error).message }, 'outbox tick failed'))
        .finally(() => {
          if (this.running) this.timer = setTimeout(tick, this.pollMs).unref();
        });
    };
    tick();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** On shutdown: one more try of what is due, bounded by the grace time. */
  async flush(graceMs: number): Promise<void> {
    this.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([this.runDue(), ...this.inflight.values()]),
      new Promise((r) => (timer = setTimeout(r, graceMs))),
    ]);
    clearTimeout(timer);
  }

  /** Finished items older than this are dropped (their keys are free again); pending ones never are. */
  pruneDone(olderThanMs: number): number {
    return this.store.db.prepare(`DELETE FROM outbox WHERE state = 'done' AND done_at < ?`).run(this.now() - olderThanMs).changes;
  }

  /** Nothing being tried and nothing due now (items waiting for a retry later do not count). */
  idle(): boolean {
    return this.inflight.size === 0 && this.due(1).length === 0;
  }

  /** Tries what is due and waits for every try under way, this one's and others'. */
  async settle(): Promise<void> {
    await Promise.all([this.runDue(), ...this.inflight.values()]);
  }

  stats(): { depth: number; oldestPendingMs: number } {
    const r = this.store.db.prepare(`SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE state = 'pending'`).get() as {
      n: number;
      oldest: number | null;
    };
    return { depth: r.n, oldestPendingMs: r.oldest === null ? 0 : this.now() - r.oldest };
  }
}

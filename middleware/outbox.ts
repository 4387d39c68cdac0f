import type { Logger } from './log';
import { Poller } from './poller';
import { hostname } from 'node:os';
import type { Store } from './store';
import { processAlive } from './process-alive';

/**
 * The durable outbox: every write to Bitrix24 that must not be lost or doubled is a row with an idempotency key,
 * written before anyone is told "it will happen". Delivery is retried with capped exponential backoff until it
 * succeeds; the attempt counter is saved before each try, so a handler can tell a first try from a retry after a
 * crash (and check before it writes again).
 *
 * Several nodes may share the store (PostgreSQL): a node claims an item before it tries it — one UPDATE that sets
 * a lease only where no live lease is, so two nodes never try the same item at once (a batch is picked with
 * FOR UPDATE SKIP LOCKED). The lease is renewed while the try runs; a node killed mid-try leaves a lease that
 * runs out, and another node tries again, counted as a retry (the handlers look before they write again).
 * Longer than our usual file on purpose: claiming, trying, retrying and parking are one state machine over one table.
 */
export interface OutboxItem {
  id: number;
  key: string;
  kind: string;
  payload: unknown;
  /**
   * `done` also ends an item parked after a refusal no retry changes: its `lastError` says why, its result is
   * `{skipped}` (what depends on it — a call's finish after its register — ends with it).
   */
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
  lease_until?: number | null;
  lease_owner?: string | null;
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
  /** How long a claim holds without renewal: how soon another node takes over the items of a killed one. */
  leaseMs?: number;
  now?: () => number;
  onChange?: () => void;
  /** Whether a handler's error is final (no retry will change it): the item is parked with its reason. */
  permanent?: (err: unknown) => boolean;
  /** Told of each try's end (the call traces): delivered with its result, parked with its reason, or to be retried. */
  onSettled?: (item: OutboxItem, outcome: TryOutcome) => void;
}

export type TryOutcome = { kind: 'delivered'; result: unknown } | { kind: 'parked'; reason: string } | { kind: 'retry'; reason: string; retryInMs: number };

/** The pid of a lease owner on this host ("host-pid-random"), to free the leases of a process that is gone. */
function ownerPid(owner: string): number | null {
  const m = /^(.*)-(\d+)-[0-9a-f]{8}$/.exec(owner);
  return m && m[1] === hostname() ? Number(m[2]) : null;
}

/** Free to claim: pending, and no lease or one that ran out (its `?` is now). */
const FREE = `state = 'pending' AND (lease_until IS NULL OR lease_until < ?)`;

export class Outbox {
  private readonly inflight = new Map<number, Promise<OutboxItem>>();
  /** Tries what is due every `pollMs`. */
  private readonly poller: Poller;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly pollMs: number;
  private readonly leaseMs: number;
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
    this.leaseMs = opts.leaseMs ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.poller = new Poller({ what: 'an outbox round', everyMs: this.pollMs, work: () => this.runDue(), log });
  }

  private get db() {
    return this.store.db;
  }

  /**
   * Adds the item unless its key is known; returns the stored item either way. `delayMs`: its first try waits that
   * long (and a known item not yet tried waits at least that long from now: see `postpone`).
   */
  async enqueue(key: string, kind: string, payload: unknown, opts: { delayMs?: number } = {}): Promise<OutboxItem> {
    if (!this.handlers[kind]) throw new Error(`outbox: no handler for ${kind}`);
    const t = this.now();
    const due = t + Math.max(0, opts.delayMs ?? 0);
    await this.db.run(`INSERT INTO outbox (key, kind, payload, state, attempts, next_at, created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (key) DO NOTHING`, [
      key,
      kind,
      JSON.stringify(payload),
      due,
      t,
    ]);
    if (due > t) await this.postpone(key, due);
    this.opts.onChange?.();
    return (await this.get(key))!;
  }

  /** An item not tried yet waits until `until` (ms) at least; one already tried keeps its own schedule. */
  async postpone(key: string, until: number): Promise<void> {
    await this.db.run(`UPDATE outbox SET next_at = ? WHERE key = ? AND state = 'pending' AND attempts = 0 AND next_at < ?`, [until, key, until]);
  }

  async get(key: string): Promise<OutboxItem | null> {
    const [r] = await this.db.all<Row>('SELECT * FROM outbox WHERE key = ?', [key]);
    return r ? toItem(r) : null;
  }

  private async byId(id: number): Promise<OutboxItem | null> {
    const [r] = await this.db.all<Row>('SELECT * FROM outbox WHERE id = ?', [id]);
    return r ? toItem(r) : null;
  }

  /** Drops a finished item so its key may be used again. Pending items are never dropped. */
  async forgetDone(key: string): Promise<void> {
    await this.db.run(`DELETE FROM outbox WHERE key = ? AND state = 'done'`, [key]);
  }

  /**
   * Tries the item now (or joins the try under way here) and returns its state afterwards. An item another node
   * is trying is left to it: its state as it is now comes back.
   */
  deliver(id: number): Promise<OutboxItem> {
    const running = this.inflight.get(id);
    if (running) return running;
    const p = this.claimOne(id)
      .then((row) =>
        row
          ? this.attempt(row)
          : this.byId(id).then((item) => {
              if (!item) throw new Error(`outbox: no item ${id}`);
              return item;
            }),
      )
      .finally(() => this.inflight.delete(id));
    this.inflight.set(id, p);
    return p;
  }

  /**
   * The claim: each try is counted and a lease taken in one statement, only on items still free (what another node
   * holds, or took a moment ago, stays its own).
   */
  private claim(t: number, where: string, params: unknown[]): Promise<Row[]> {
    return this.db.all<Row>(`UPDATE outbox SET attempts = attempts + 1, lease_owner = ?, lease_until = ? WHERE ${where} AND ${FREE} RETURNING *`, [this.store.nodeId, t + this.leaseMs, ...params, t]);
  }

  private async claimOne(id: number): Promise<Row | null> {
    const [row] = await this.claim(this.now(), 'id = ?', [id]);
    return row ?? null;
  }

  /** Claims up to `limit` due items no node holds; on PostgreSQL rows another node is claiming are skipped, not waited for. */
  private claimDue(limit: number): Promise<Row[]> {
    const t = this.now();
    const mine = [...this.inflight.keys()];
    const notMine = mine.length ? `AND id NOT IN (${mine.map(() => '?').join(',')})` : '';
    const due = `SELECT id FROM outbox WHERE next_at <= ? AND ${FREE} ${notMine} ORDER BY next_at LIMIT ?`;
    // PostgreSQL may run an `IN (SELECT … LIMIT n)` again for every row it updates, claiming far more than n (one
    // node would take the whole outbox); ARRAY(…) is computed once. SQLite (one process) builds the IN list once.
    const where = this.db.dialect === 'postgres' ? `id = ANY(ARRAY(${due} FOR UPDATE SKIP LOCKED))` : `id IN (${due})`;
    return this.claim(t, where, [t, t, ...mine, limit]);
  }

  private async attempt(row: Row): Promise<OutboxItem> {
    const item = toItem(row);
    // The claim counted this try: the handler is told how many came before it.
    const previousAttempts = item.attempts - 1;
    const handler = this.handlers[item.kind];
    if (!handler) throw new Error(`outbox: no handler for ${item.kind}`);
    const renew = setInterval(
      () => {
        this.db
          .run('UPDATE outbox SET lease_until = ? WHERE id = ? AND lease_owner = ?', [this.now() + this.leaseMs, row.id, this.store.nodeId])
          .catch((err: Error) => this.log.warn({ outbox: item.key, err }, 'outbox lease renewal failed'));
      },
      Math.max(100, Math.floor(this.leaseMs / 3)),
    );
    renew.unref();
    let outcome: { ok: true; result: unknown } | { ok: false; err: unknown };
    try {
      outcome = { ok: true, result: await handler({ payload: item.payload, previousAttempts }) };
    } catch (err) {
      outcome = { ok: false, err };
    } finally {
      clearInterval(renew);
    }
    let kept: number;
    if (outcome.ok) {
      kept = await this.db.run(`UPDATE outbox SET state = 'done', result = ?, done_at = ?, last_error = NULL, lease_until = NULL, lease_owner = NULL WHERE id = ? AND lease_owner = ?`, [
        JSON.stringify(outcome.result ?? null),
        this.now(),
        row.id,
        this.store.nodeId,
      ]);
      this.log.info({ outbox: item.key, kind: item.kind, attempts: item.attempts }, 'outbox item delivered');
      if (kept) this.opts.onSettled?.(item, { kind: 'delivered', result: outcome.result });
    } else if (this.opts.permanent?.(outcome.err)) {
      const err = outcome.err as Error;
      const reason = String(err?.message ?? err).slice(0, 500);
      kept = await this.db.run(`UPDATE outbox SET state = 'done', result = ?, last_error = ?, done_at = ?, lease_until = NULL, lease_owner = NULL WHERE id = ? AND lease_owner = ?`, [
        JSON.stringify({ skipped: `Bitrix24 refused it for good: ${reason}` }),
        reason,
        this.now(),
        row.id,
        this.store.nodeId,
      ]);
      this.log.error({ outbox: item.key, kind: item.kind, attempts: item.attempts, err }, 'outbox item parked: Bitrix24 refused it for good (no retry changes that); it is kept with its reason');
      if (kept) this.opts.onSettled?.(item, { kind: 'parked', reason });
    } else {
      const err = outcome.err as Error;
      const backoff = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(item.attempts - 1, 20));
      const delay = Math.round(backoff * (0.75 + Math.random() * 0.5));
      kept = await this.db.run('UPDATE outbox SET next_at = ?, last_error = ?, lease_until = NULL, lease_owner = NULL WHERE id = ? AND lease_owner = ?', [
        this.now() + delay,
        String(err?.message ?? err).slice(0, 500),
        row.id,
        this.store.nodeId,
      ]);
      this.log.warn({ outbox: item.key, kind: item.kind, attempts: item.attempts, retryInMs: delay, err }, 'outbox delivery failed, will retry');
      if (kept) this.opts.onSettled?.(item, { kind: 'retry', reason: String(err?.message ?? err).slice(0, 300), retryInMs: delay });
    }
    // The lease ran out during the try (this node stalled longer than the lease): another node may be trying it.
    if (kept === 0) this.log.warn({ outbox: item.key, kind: item.kind }, 'outbox lease was lost during the try; the item is left to the node holding it');
    this.opts.onChange?.();
    return (await this.byId(row.id))!;
  }

  /** Delivers every item that is due; resolves when those tries end. */
  async runDue(limit = 100): Promise<void> {
    const rows = await this.claimDue(limit);
    await Promise.all(
      rows.map((row) => {
        const p = this.attempt(row).finally(() => this.inflight.delete(row.id));
        this.inflight.set(row.id, p);
        return p;
      }),
    );
  }

  /**
   * Leases of processes on this host that are gone (killed mid-try) are freed at start, so their items are tried
   * now rather than when the lease runs out; a live process's leases, here or on another node, are left alone.
   */
  async freeDeadLeases(): Promise<number> {
    const held = await this.db.all<{ id: number; lease_owner: string }>('SELECT id, lease_owner FROM outbox WHERE lease_owner IS NOT NULL');
    let n = 0;
    for (const r of held) {
      const pid = ownerPid(r.lease_owner);
      if (r.lease_owner === this.store.nodeId || pid === null || processAlive(pid)) continue;
      n += await this.db.run('UPDATE outbox SET lease_until = NULL, lease_owner = NULL WHERE id = ? AND lease_owner = ?', [r.id, r.lease_owner]);
    }
    return n;
  }

  start(): void {
    this.poller.start();
  }

  stop(): void {
    this.poller.stop();
  }

  /** On shutdown: one more try of what is due, bounded by the grace time. */
  async flush(graceMs: number): Promise<void> {
    this.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([this.runDue().catch(() => undefined), ...this.inflight.values()]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  /** Finished items older than this are dropped (their keys are free again); pending ones never are. */
  pruneDone(olderThanMs: number): Promise<number> {
    return this.db.run(`DELETE FROM outbox WHERE state = 'done' AND done_at < ?`, [this.now() - olderThanMs]);
  }

  /** Nothing being tried here and nothing due now that no node holds (items waiting for a retry later do not count). */
  async idle(): Promise<boolean> {
    if (this.inflight.size) return false;
    const t = this.now();
    const due = await this.db.all(`SELECT id FROM outbox WHERE next_at <= ? AND ${FREE} LIMIT 1`, [t, t]);
    return due.length === 0;
  }

  /** Tries what is due and waits for every try under way, this one's and others'. */
  async settle(): Promise<void> {
    await Promise.all([this.runDue(), ...this.inflight.values()]);
  }

  async stats(): Promise<{ depth: number; oldestPendingMs: number; parked: number }> {
    const [r] = await this.db.all<{ n: number | string; oldest: number | null; parked: number | string }>(
      `SELECT SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS n, MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldest, SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END) AS parked FROM outbox WHERE state = 'pending' OR last_error IS NOT NULL`,
    );
    return { depth: Number(r?.n ?? 0), oldestPendingMs: r?.oldest === null || r?.oldest === undefined ? 0 : this.now() - r.oldest, parked: Number(r?.parked ?? 0) };
  }
}

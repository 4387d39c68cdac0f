import { StoreTooNewError } from './store-migrations';
import { NotInstalledError } from './bitrix24/errors';
import { PROBE_EVERY_MS } from './bitrix24/portal-state';
import { CALL_MARK_PREFIXES } from './calls/call-log';
import type { ClickToDial } from './calls/click-to-dial';
import type { InternalNumbers } from './calls/internal-numbers';
import type { Core } from './core';
import { storeCheck } from './health-checks';
import { Poller } from './poller';

/** A store that could not be opened at start (PostgreSQL out of reach) is tried again this often; the node serves meanwhile. */
const STORE_RETRY_MS = 2_000;
/** How often the store's reachability and the outbox gauges are read (every node reports the shared store's truth). */
const STORE_WATCH_MS = 5_000;
/** How long finished work and its dedupe marks are kept (docs/operations.md). */
const PRUNE_AFTER_MS = 7 * 86_400_000;
/** The portal's users' internal numbers are read again this often (a new agent's extension is guarded sooner by his session). */
const INTERNAL_NUMBERS_EVERY_MS = 3_600_000;
/** After a failed read (Bitrix24 down), and before the application is installed (no request is sent meanwhile). */
const RETRY_MS = 60_000;
const WAIT_INSTALL_MS = 2_000;

/**
 * What a node does by itself while it runs: opens the store (and keeps trying while PostgreSQL is out of reach),
 * prunes old marks, fails clicks a stopped node left, watches the store, reads the portal's internal numbers, and
 * probes a deleted or moved portal now and then — each on a poller of its own.
 */
export class Upkeep {
  /** The store opened, the installation and signing keys read: until then lookups fail open and sessions wait. */
  private opened: Promise<void> | null = null;
  private openTimer: NodeJS.Timeout | null = null;
  private storeUp: boolean | null = null;
  /** Each loop with the wait before its first run. */
  private readonly pollers: Array<[Poller, number]>;

  constructor(
    private readonly core: Core,
    private readonly d: { clicks: ClickToDial; internalNumbers: InternalNumbers; listening: () => boolean },
  ) {
    const { log, config, store } = core;
    const every = (what: string, everyMs: number, firstInMs: number, work: () => Promise<number | void>): [Poller, number] => [new Poller({ what, everyMs, work, log }), firstInMs];
    this.pollers = [
      every('store housekeeping', 3_600_000, 3_600_000, () => this.prune()),
      // Several nodes: a click a killed node took and never settled is failed visibly within a minute of its timeout.
      ...(store.shared ? [every('failing stale clicks', 60_000, 60_000, () => this.failStaleClicks())] : []),
      every('reading the internal numbers', INTERNAL_NUMBERS_EVERY_MS, 0, () => this.readInternalNumbers()),
      // A deleted or moved portal is asked again now and then, with one request (portal-state.ts).
      every('the portal probe', PROBE_EVERY_MS, PROBE_EVERY_MS, async () => {
        if (core.portalState.condition.state !== 'ok') await core.directory.serverTime(AbortSignal.timeout(config.requestTimeoutMs), true).catch(() => undefined);
      }),
      every('the store watch', STORE_WATCH_MS, 0, () => this.watchStore()),
    ];
  }

  /** After the server listens: the store opened (or retried), then every loop. */
  async start(): Promise<void> {
    await this.open();
    for (const [p, firstInMs] of this.pollers) p.start(firstInMs);
  }

  stop(): void {
    if (this.openTimer) clearTimeout(this.openTimer);
    for (const [p] of this.pollers) p.stop();
  }

  /**
   * Opens the store and reads what the node needs from it. PostgreSQL out of reach at start does not keep the node
   * from serving: lookups fail open, /readyz says why, and the opening is tried again every STORE_RETRY_MS.
   */
  open(): Promise<void> {
    this.opened ??= this.openOnce().catch((err: unknown) => {
      // A store a newer version wrote is not "out of reach": no retry helps, and serving on it could lose work.
      if (err instanceof StoreTooNewError) throw err;
      this.core.log.error({ err, store: this.core.store.db.describe() }, 'the store cannot be opened; the node answers lookups to the queue until it can');
      this.openTimer = setTimeout(() => {
        this.opened = null;
        if (this.d.listening()) void this.open();
      }, STORE_RETRY_MS);
      this.openTimer.unref();
    });
    return this.opened;
  }

  private async openOnce(): Promise<void> {
    const { core } = this;
    await core.prepare();
    const freed = await core.outbox.freeDeadLeases();
    if (freed) core.log.warn({ items: freed }, 'outbox items a killed process was trying are tried again');
    if (!core.store.shared) {
      // One node: every unsettled click is the last run's.
      const interrupted = await this.d.clicks.recover(0);
      if (interrupted) core.log.warn({ clicks: interrupted }, 'clicks interrupted by the last stop were failed visibly in Bitrix24');
    } else await this.failStaleClicks();
    await this.prune();
    core.log.info({ store: core.store.db.describe() }, 'store opened');
  }

  /**
   * Dedupe marks of clicks and calls, and finished outbox items (with them their keys): a week covers any
   * redelivery, late report or repeated lookup job; older ones only grow the store.
   */
  private async prune(): Promise<void> {
    for (const p of [...CALL_MARK_PREFIXES, 'popped.']) await this.core.store.pruneKv(p, PRUNE_AFTER_MS);
    await this.core.trace.prune();
    await this.core.outbox.pruneDone(PRUNE_AFTER_MS);
    const closed = await this.d.clicks.closeUnreported();
    if (closed) this.core.log.warn({ clicks: closed }, 'dialled clicks no gadget reported were closed in Bitrix24');
  }

  /** Several nodes: only clicks older than any click can wait for its gadget are failed (another node may be waiting). */
  private async failStaleClicks(): Promise<void> {
    const stale = await this.d.clicks.recover(this.core.config.dial.resultTimeoutMs + 60_000);
    if (stale) this.core.log.warn({ clicks: stale }, 'clicks a stopped node took but never settled were failed visibly in Bitrix24');
  }

  /** The portal's users' internal numbers: one user.get page per 50 users; the wait before the next read. */
  private async readInternalNumbers(): Promise<number> {
    try {
      const n = await this.d.internalNumbers.refresh();
      this.core.log.info({ numbers: n }, "Bitrix24 users' internal numbers read (never looked up or logged as customers)");
      return INTERNAL_NUMBERS_EVERY_MS;
    } catch (err) {
      if (err instanceof NotInstalledError) return WAIT_INSTALL_MS;
      this.core.log.warn({ err }, "Bitrix24 users' internal numbers not read; the last ones read (and agents' extensions) still guard; tried again in a minute");
      return RETRY_MS;
    }
  }

  /**
   * Whether the store answers (gauge `store_up`, a log line when that changes) and the outbox gauges as the shared
   * store has them — with two nodes, items the other node delivered leave this node's figures too.
   */
  private async watchStore(): Promise<void> {
    const { core } = this;
    const check = await storeCheck(core);
    core.metrics.storeUp.set(check.ok ? 1 : 0);
    if (this.storeUp !== null && this.storeUp !== check.ok) {
      if (check.ok) core.log.info({ store: core.store.db.describe() }, 'the store answers again');
      else
        core.log.error({ store: core.store.db.describe(), reason: check.reason }, "the store does not answer: lookups go on (new callers' leads are held here until it is back); reports answer 503");
    }
    this.storeUp = check.ok;
    if (check.ok) await core.updateOutboxGauges();
  }
}

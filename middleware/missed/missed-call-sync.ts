import moment from 'moment-timezone';
import type { Logger } from '../log';
import { Poller } from '../poller';
import type { Outbox } from '../outbox';
import type { CcdrSource } from '../stats/ccdr-source';
import { UTC_TEXT, type Period } from '../stats/period';
import type { Store } from '../store';
import { abandonedAfter, type Watermark } from './abandoned-calls';
import { LOG_MISSED_CALL, missedKey } from './missed-call-log';

/**
 * Polls UCCX's call records for calls abandoned before an agent answered and queues each, once, for Bitrix24
 * (missed-call-log.ts). The watermark is persisted; records are read only `lagMs` after they end, because UCCX
 * writes them when the call completes. Backfill walks a past period the same way and is safe to rerun.
 */
const WATERMARK = 'missed.watermark';
const PAGE = 500;

export class MissedCallSync {
  private readonly poller: Poller;

  constructor(
    private readonly source: CcdrSource,
    private readonly outbox: Outbox,
    private readonly store: Store,
    private readonly opts: { pollMs: number; lagMs: number; lookbackMs?: number; log: Logger; now?: () => number },
  ) {
    this.poller = new Poller({ what: 'the missed-call poll', everyMs: opts.pollMs, work: () => this.pollOnce().then(() => undefined), log: opts.log });
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  async watermark(): Promise<Watermark> {
    // First start: from now on; the past is the backfill command's.
    const w = await this.store.getKv<Watermark>(WATERMARK);
    if (w) return w;
    const start = { endUtc: moment.utc(this.now() - this.opts.lagMs).format(UTC_TEXT), sessionId: '' };
    await this.store.setKv(WATERMARK, start);
    return start;
  }

  /**
   * Queues what completed since the watermark — reading `lookbackMs` further back, for rows UCCX wrote late (the
   * outbox's keys make a call read twice queued once); returns how many new ones.
   */
  pollOnce(): Promise<number> {
    // One node at a time reads (two would read the same rows; the keys would dedupe them, but why read twice).
    return this.store.exclusive('missed.poll', () => this.poll());
  }

  private async poll(): Promise<number> {
    const until = moment.utc(this.now() - this.opts.lagMs).format(UTC_TEXT);
    const mark = await this.watermark();
    let w: Watermark = {
      endUtc: moment
        .utc(mark.endUtc, UTC_TEXT)
        .subtract(this.opts.lookbackMs ?? 0, 'ms')
        .format(UTC_TEXT),
      sessionId: '',
    };
    let queued = 0;
    for (;;) {
      const calls = await abandonedAfter(this.source, w, until, PAGE);
      for (const c of calls) {
        if (!(await this.outbox.get(missedKey(c)))) queued += 1;
        await this.outbox.enqueue(missedKey(c), LOG_MISSED_CALL, c);
      }
      const last = calls[calls.length - 1];
      if (!last) break;
      w = { endUtc: last.endUtc, sessionId: last.sessionId };
      // After the rows are in the outbox: a crash re-reads, the keys dedupe. The mark only moves forward.
      if (w.endUtc > mark.endUtc || (w.endUtc === mark.endUtc && Number(w.sessionId) > Number(mark.sessionId || 0))) await this.store.setKv(WATERMARK, w);
      if (calls.length < PAGE) break;
    }
    if (queued) this.opts.log.info({ queued }, 'missed calls queued for Bitrix24');
    return queued;
  }

  start(): void {
    if (this.opts.pollMs > 0) this.poller.start();
  }

  stop(): void {
    this.poller.stop();
  }

  /** Queues every abandoned call that ended in the period (rerunnable: the outbox keys dedupe); returns the keys. */
  async enqueuePeriod(p: Period): Promise<string[]> {
    const keys: string[] = [];
    let w: Watermark = { endUtc: p.utcStart, sessionId: '' };
    for (;;) {
      const calls = (await abandonedAfter(this.source, w, p.utcEnd, PAGE)).filter((c) => c.endUtc < p.utcEnd);
      for (const c of calls) {
        await this.outbox.enqueue(missedKey(c), LOG_MISSED_CALL, c);
        keys.push(missedKey(c));
      }
      const last = calls[calls.length - 1];
      if (!last || calls.length < PAGE) break;
      w = { endUtc: last.endUtc, sessionId: last.sessionId };
    }
    return keys;
  }
}

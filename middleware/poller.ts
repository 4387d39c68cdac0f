import type { Logger } from './log';

/**
 * One periodic loop, written once: `work` runs, and the next run starts when it has ended (never two at once) plus
 * the delay it returned (else `everyMs`). A run that throws is logged with its error and the loop goes on. Timers
 * never keep the process alive; `stop()` ends the loop (a run under way finishes by itself).
 */
export class Poller {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private busy = false;

  constructor(
    private readonly o: {
      /** Said in the log when a run fails. */
      what: string;
      everyMs: number;
      /** One run; resolves to the wait before the next one (ms), or nothing for `everyMs`. */
      work: () => Promise<number | void>;
      log: Pick<Logger, 'warn'>;
    },
  ) {}

  get active(): boolean {
    return this.running;
  }

  /** Starts the loop: the first run now (0) or after `firstInMs`. */
  start(firstInMs = 0): void {
    if (this.running) return;
    this.running = true;
    if (firstInMs <= 0) this.run();
    else this.schedule(firstInMs);
  }

  /** A run now, unless one is under way (its result is as fresh). */
  soon(): void {
    if (this.running && !this.busy) this.schedule(0);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), ms).unref();
  }

  private run(): void {
    this.timer = null;
    if (!this.running || this.busy) return;
    this.busy = true;
    this.o
      .work()
      .catch((err: unknown) => {
        this.o.log.warn({ err }, `${this.o.what} failed; tried again`);
        return undefined;
      })
      .then((wait) => {
        this.busy = false;
        if (!this.running) return;
        this.schedule(typeof wait === 'number' ? wait : this.o.everyMs);
      });
  }
}

/**
 * Our mirror of the portal's leaky bucket (per portal and source IP): every HTTP request adds one, the bucket
 * drains `perSecond`, the portal refuses above `burst`. We spend the burst sparingly: below `reserve` requests
 * go at once; above it we wait for the drain and let the batcher put everything pending into one request.
 * That keeps latency low when quiet and turns a burst of lookups into a few batch calls, never a 503.
 */
export class LeakyBucket {
  private level = 0;
  private at: number;
  readonly reserve: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.at = now();
    this.reserve = Math.max(1, Math.floor(burst * 0.2));
  }

  current(): number {
    const t = this.now();
    this.level = Math.max(0, this.level - ((t - this.at) / 1000) * this.perSecond);
    this.at = t;
    return this.level;
  }

  /** Milliseconds to wait before the next request may go; 0 means now. */
  delay(): number {
    const level = this.current();
    const allowed = Math.min(this.reserve, this.burst); // after our request the portal bucket stays ≤ burst
    if (level <= allowed - 1) return 0;
    return Math.ceil(((level - (allowed - 1)) / this.perSecond) * 1000);
  }

  take(): void {
    this.current();
    this.level += 1;
  }

  /** The portal said it is full: believe it. */
  fill(): void {
    this.current();
    this.level = Math.max(this.level, this.burst);
  }
}

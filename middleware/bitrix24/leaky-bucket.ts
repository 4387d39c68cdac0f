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

  /**
   * Milliseconds to wait before the next request may go; 0 means now. A priority request (a click's proof, which a
   * user is waiting on) may use the room the reserve keeps for the portal's other clients, and while one waits,
   * everything else waits a moment longer, so the first slot the portal frees is the priority request's.
   */
  delay(priority = false): number {
    const level = this.current();
    const backoff = Math.max(0, Math.ceil(this.notBefore - this.now()));
    // After our request the portal bucket stays ≤ burst; background work keeps to the reserve.
    const allowed = priority ? this.burst : Math.min(this.reserve, this.burst);
    const own = level <= allowed - 1 ? backoff : Math.max(backoff, Math.ceil(((level - (allowed - 1)) / this.perSecond) * 1000));
    if (priority || this.priorityWaiting === 0) return own;
    return Math.max(own, backoff + PRIORITY_LEAD_MS);
  }

  /** A priority request starts (or stops) waiting for its slot: background work yields to it meanwhile. */
  waitingPriority(delta: 1 | -1): void {
    this.priorityWaiting = Math.max(0, this.priorityWaiting + delta);
  }

  take(): void {
    this.current();
    this.level += 1;
  }

  /**
   * The portal said 503 QUERY_LIMIT_EXCEEDED: its bucket is fuller than ours thinks (other applications share it).
   * It frees a slot every 1/perSecond s, so we wait a short, growing while — one slot, then two, four… at most 5 s —
   * not the whole burst's drain (20 s at 2 req/s), which would stall every lookup for nothing.
   */
  refused(): void {
    this.refusals += 1;
    const wait = Math.min(5000, (1000 / this.perSecond) * 2 ** Math.min(this.refusals - 1, 10));
    this.notBefore = Math.max(this.notBefore, this.now() + wait);
  }

  /** A request went through: the portal had room. */
  accepted(): void {
    this.refusals = 0;
  }

  private refusals = 0;
  private notBefore = 0;
  private priorityWaiting = 0;
}

/** How far behind a waiting priority request background work stays (timers of the same due time fire in any order). */
const PRIORITY_LEAD_MS = 50;

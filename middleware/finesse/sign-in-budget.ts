/**
 * How many agent sign-ins the middleware passes on to Finesse, all callers together: a flood of made-up account
 * names must never become a flood of authentications at Finesse. Two token buckets:
 * - accounts that signed in successfully here lately (24 h) share a generous one — a shift start of hundreds of
 *   agents, each reloading his desktop, passes;
 * - every other account (new, or only ever refused) shares a small one — what a flood can make Finesse see, whatever
 *   names it sends. An agent's very first sign-in takes from it too, so a first shift start spreads over a few minutes
 *   at worst (the gadget tries again after a 429).
 * The per-account guard (stop before Finesse's lockout) stays on top of this, in the route.
 */
export const SIGN_IN_LIMITS = {
  known: { perSecond: 10, burst: 50 },
  other: { perSecond: 2, burst: 30 },
  /** How long a successful sign-in makes an account "known". */
  knownForMs: 24 * 3_600_000,
  /** Accounts remembered as known (the oldest is forgotten first). */
  maxKnown: 20_000,
} as const;

class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class SignInBudget {
  private readonly known = new Map<string, number>();
  private readonly knownBucket: TokenBucket;
  private readonly otherBucket: TokenBucket;

  constructor(private readonly now: () => number = Date.now) {
    const t = now();
    this.knownBucket = new TokenBucket(SIGN_IN_LIMITS.known.perSecond, SIGN_IN_LIMITS.known.burst, t);
    this.otherBucket = new TokenBucket(SIGN_IN_LIMITS.other.perSecond, SIGN_IN_LIMITS.other.burst, t);
  }

  /** May a sign-in of this Finesse account go to Finesse now? */
  take(account: string): boolean {
    const t = this.now();
    const since = this.known.get(account);
    const isKnown = since !== undefined && t - since < SIGN_IN_LIMITS.knownForMs;
    return (isKnown ? this.knownBucket : this.otherBucket).take(t);
  }

  /** Finesse accepted this account's sign-in. */
  succeeded(account: string): void {
    this.known.delete(account);
    this.known.set(account, this.now());
    if (this.known.size > SIGN_IN_LIMITS.maxKnown) this.known.delete(this.known.keys().next().value!);
  }
}

import { TtlCache } from '../ttl-cache';
import type { LeakyBucket } from './leaky-bucket';
import type { PortalState } from './portal-state';

/**
 * Asks the configured portal itself (B24_PORTAL_URL, never an address from a request) about a token someone
 * presented: whose it is, whether that user is an administrator, which application it was issued to. Bitrix24 puts
 * the application token and member id into every user's application frame, so only the portal's own answer about
 * an access token proves that an install or an event comes from it (docs/security.md).
 *
 * "Not now" is not "no": a portal that is busy (503 QUERY_LIMIT_EXCEEDED), failing (5xx) or out of reach has said
 * nothing about the token, and its caller holds the click and asks again; only the portal's own refusal of the
 * token (HTTP 401: NO_AUTH_FOUND, invalid_token, expired_token) — or an answer without a user — is a "no".
 */
export type Proof = { kind: 'user'; userId: number } | { kind: 'refused'; why: string } | { kind: 'unknown'; why: string };

/** An access token lives an hour (Bitrix24 OAuth); a proof is never kept longer than its token. */
const TOKEN_LIFE_MS = 3_600_000;

type Answer = { ok: true; result: unknown } | { ok: false; proof: Proof };

export class PortalCheck {
  /** Tokens the portal confirmed, until they expire (a user's clicks within the hour cost one request). */
  private readonly confirmed = new TtlCache<{ userId: number; until: number }>(TOKEN_LIFE_MS, 5_000);
  /** One question per token at a time: clicks held on the same token share it. */
  private readonly asking = new Map<string, Promise<Proof>>();

  constructor(
    private readonly restBase: string,
    private readonly timeoutMs: number,
    /** The portal's bucket our clients share: a proof goes first, and never into a refusal we already know of. */
    private readonly bucket: LeakyBucket | null = null,
    /** Each question the portal answered (or did not), for /metrics. */
    private readonly onAnswer?: (kind: Proof['kind']) => void,
    /** A deleted or moved portal is not asked (portal-state.ts). */
    private readonly portal?: PortalState,
  ) {}

  /** Waits for a slot in the portal's bucket, first in line, for at most `maxWaitMs`; false when none comes by then. */
  private async slot(maxWaitMs: number): Promise<boolean> {
    const bucket = this.bucket;
    if (!bucket) return true;
    const until = Date.now() + maxWaitMs;
    bucket.waitingPriority(1);
    try {
      for (;;) {
        const wait = bucket.delay(true);
        if (wait === 0) break;
        // The bucket is full or the portal just refused us: asking before the slot only earns another 503.
        if (Date.now() + wait > until) return false;
        await new Promise((r) => setTimeout(r, wait));
      }
    } finally {
      bucket.waitingPriority(-1);
    }
    bucket.take();
    return true;
  }

  private async call(method: string, token: string, maxWaitMs: number): Promise<Answer> {
    if (!/^[\w.-]{8,200}$/.test(token)) return { ok: false, proof: { kind: 'refused', why: 'not a token' } };
    const gone = this.portal?.condition;
    if (gone && gone.state !== 'ok') return { ok: false, proof: { kind: 'unknown', why: `the portal is ${gone.state}` } };
    if (!(await this.slot(maxWaitMs))) return { ok: false, proof: { kind: 'unknown', why: "the portal's request limit: no slot in time" } };
    let res: Response;
    let body: { result?: unknown; error?: unknown; error_description?: unknown };
    try {
      res = await fetch(`${this.restBase}${method}.json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ auth: token }),
        signal: AbortSignal.timeout(this.timeoutMs),
        // A user's token never follows a redirect to another host (a moved portal is configured anew).
        redirect: 'manual',
      });
      body = (await res.json().catch(() => ({}))) as typeof body;
    } catch (err) {
      return { ok: false, proof: { kind: 'unknown', why: `no answer: ${(err as Error).message}` } };
    }
    const error = typeof body.error === 'string' ? body.error : '';
    if (error === 'QUERY_LIMIT_EXCEEDED')
      this.bucket?.refused(); // the bucket is full (OVERLOAD_LIMIT is a manual block)
    else if (res.ok) this.bucket?.accepted();
    if (res.status === 401) return { ok: false, proof: { kind: 'refused', why: `HTTP 401 ${error}`.trim() } };
    if (!res.ok) return { ok: false, proof: { kind: 'unknown', why: `HTTP ${res.status} ${error}`.trim() } };
    return { ok: true, result: body.result ?? null };
  }

  /**
   * Whose token this is, as the portal says. `expiresAt` (ms, from the event's `auth[expires]`) bounds how long the
   * answer is kept; `maxWaitMs` how long the question may wait for a slot in the portal's bucket. Several callers
   * asking about one token share one request.
   */
  tokenUser(token: string, expiresAt?: number, maxWaitMs = 0): Promise<Proof> {
    const known = this.confirmed.get(token);
    if (known && known.until > Date.now()) return Promise.resolve({ kind: 'user', userId: known.userId });
    const running = this.asking.get(token);
    if (running) return running;
    const p = this.ask(token, expiresAt, maxWaitMs).finally(() => this.asking.delete(token));
    this.asking.set(token, p);
    return p;
  }

  private async ask(token: string, expiresAt: number | undefined, maxWaitMs: number): Promise<Proof> {
    const answer = await this.call('user.current', token, maxWaitMs);
    const proof = answer.ok ? userOf(answer.result) : answer.proof;
    this.onAnswer?.(proof.kind);
    if (proof.kind === 'user') {
      const until = Math.min(Date.now() + TOKEN_LIFE_MS, expiresAt && expiresAt > 0 ? expiresAt : Infinity);
      this.confirmed.set(token, { userId: proof.userId, until });
    }
    return proof;
  }

  /**
   * Asks until the portal tells (a user or a refusal) or `deadline` (ms) passes: each question waits for a slot in
   * the bucket first in line; after an answer that tells nothing (a 5xx, a timeout) it pauses, 0.5 s doubling to 4 s.
   */
  async proveBy(token: string, expiresAt: number | undefined, deadline: number): Promise<Proof> {
    let pause = 500;
    for (;;) {
      const proof = await this.tokenUser(token, expiresAt, Math.max(0, deadline - Date.now()));
      const left = deadline - Date.now();
      if (proof.kind !== 'unknown' || left <= 0) return proof;
      await new Promise((r) => setTimeout(r, Math.min(pause, left)));
      pause = Math.min(pause * 2, 4000);
    }
  }

  /** True when the token is this application's (app.info CODE = our client_id) and its user a portal administrator. */
  async adminOfApp(token: string, clientId: string): Promise<boolean> {
    const [app, admin] = await Promise.all([this.call('app.info', token, this.timeoutMs), this.call('user.admin', token, this.timeoutMs)]);
    return app.ok && admin.ok && (app.result as { CODE?: unknown } | null)?.CODE === clientId && admin.result === true;
  }
}

function userOf(result: unknown): Proof {
  const userId = Number((result as { ID?: unknown } | null)?.ID);
  return Number.isInteger(userId) && userId > 0 ? { kind: 'user', userId } : { kind: 'refused', why: 'user.current named no user' };
}

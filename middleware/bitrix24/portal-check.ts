import { TtlCache } from '../lookup/ttl-cache';

/**
 * Asks the configured portal itself (B24_PORTAL_URL, never an address from a request) about a token someone
 * presented: whose it is, whether that user is an administrator, which application it was issued to. Bitrix24 puts
 * the application token and member id into every user's application frame, so only the portal's own answer about
 * an access token proves that an install or an event comes from it (README Security).
 */
export interface TokenFacts {
  /** The user the token was issued for (user.current). */
  userId: number;
}

export class PortalCheck {
  /** Tokens the portal confirmed, until they expire (an event per click must not cost a request per delivery). */
  private readonly confirmed = new TtlCache<TokenFacts>(10 * 60_000, 5_000);

  constructor(
    private readonly restBase: string,
    private readonly timeoutMs: number,
  ) {}

  /** The method's result, or null when the portal refuses the token or does not answer in time. */
  private async call(method: string, token: string): Promise<unknown> {
    if (!/^[\w.-]{8,200}$/.test(token)) return null;
    try {
      const res = await fetch(`${this.restBase}${method}.json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ auth: token }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!res.ok) return null;
      const body = (await res.json()) as { result?: unknown };
      return body.result ?? null;
    } catch {
      return null;
    }
  }

  /** Whose token this is, as the portal says; null if the portal does not know it. */
  async tokenUser(token: string): Promise<TokenFacts | null> {
    const known = this.confirmed.get(token);
    if (known) return known;
    const user = (await this.call('user.current', token)) as { ID?: unknown } | null;
    const userId = Number(user?.ID);
    if (!Number.isInteger(userId) || userId <= 0) return null;
    const facts = { userId };
    this.confirmed.set(token, facts);
    return facts;
  }

  /** True when the token is this application's (app.info CODE = our client_id) and its user a portal administrator. */
  async adminOfApp(token: string, clientId: string): Promise<boolean> {
    const [app, admin] = await Promise.all([this.call('app.info', token), this.call('user.admin', token)]);
    return (app as { CODE?: unknown } | null)?.CODE === clientId && admin === true;
  }
}

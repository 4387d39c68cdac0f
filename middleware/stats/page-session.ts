import { SignedTokens } from '../signed-tokens';
import type { Store } from '../store';

/**
 * After the frame POST is verified, the page's own links (filters, CSV) carry a short-lived signed session instead
 * of Bitrix24's token.
 */
export class PageSessions {
  private readonly tokens: SignedTokens;

  constructor(store: Store) {
    this.tokens = new SignedTokens(store, 'stats.sessionKey', 60 * 60 * 1000);
  }

  load(): Promise<void> {
    return this.tokens.load();
  }

  /** `admin`: a portal administrator (user.admin), who may also open the connection checks. */
  issue(userId: number, now = Date.now(), admin = false): string {
    return this.tokens.issue(admin ? `${userId}.admin` : String(userId), now).token;
  }

  /** The user id, or null when forged or expired. */
  verify(token: string, now = Date.now()): number | null {
    const s = this.tokens.verify(token, now);
    const m = s === null ? null : /^(\d+)(\.admin)?$/.exec(s);
    return m ? Number(m[1]) : null;
  }

  /** The user id of an administrator's session, or null (not one, forged or expired). */
  verifyAdmin(token: string, now = Date.now()): number | null {
    const s = this.tokens.verify(token, now);
    const m = s === null ? null : /^(\d+)\.admin$/.exec(s);
    return m ? Number(m[1]) : null;
  }
}

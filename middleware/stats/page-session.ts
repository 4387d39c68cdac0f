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

  issue(userId: number, now = Date.now()): string {
    return this.tokens.issue(String(userId), now).token;
  }

  /** The user id, or null when forged or expired. */
  verify(token: string, now = Date.now()): number | null {
    const s = this.tokens.verify(token, now);
    return s !== null && /^\d+$/.test(s) ? Number(s) : null;
  }
}

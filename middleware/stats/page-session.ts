import { createHmac, randomBytes } from 'node:crypto';
import { sameSecret } from '../secrets';
import type { Store } from '../store';

/**
 * After the frame POST is verified, the page's own links (filters, CSV) carry a short-lived signed session instead
 * of Bitrix24's token: `<user id>.<expiry>.<hmac>`, keyed by a secret kept in the store.
 */
const TTL_MS = 60 * 60 * 1000;

export class PageSessions {
  private readonly key: Buffer;

  constructor(store: Store) {
    let key = store.getKv<string>('stats.sessionKey');
    if (!key) {
      key = randomBytes(32).toString('hex');
      store.setKv('stats.sessionKey', key);
    }
    this.key = Buffer.from(key, 'hex');
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  issue(userId: number, now = Date.now()): string {
    const payload = `${userId}.${now + TTL_MS}`;
    return `${payload}.${this.mac(payload)}`;
  }

  /** The user id, or null when forged or expired. */
  verify(token: string, now = Date.now()): number | null {
    const m = /^(\d+)\.(\d+)\.([\w-]+)$/.exec(token);
    if (!m) return null;
    if (!sameSecret(m[3]!, this.mac(`${m[1]}.${m[2]}`))) return null;
    return Number(m[2]) > now ? Number(m[1]) : null;
  }
}

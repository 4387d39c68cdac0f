import { createHmac, randomBytes } from 'node:crypto';
import { sameSecret } from './secrets';
import type { Store } from './store';

/**
 * Short-lived signed tokens `<subject base64url>.<expiry>.<hmac>`, keyed by a secret kept in the store (so they
 * survive a restart and nobody configures a key). Used where we hand out a session instead of keeping someone's
 * credentials: the statistics page, the agent's gadget.
 */
export class SignedTokens {
  private readonly key: Buffer;

  constructor(
    store: Store,
    keyName: string,
    readonly ttlMs: number,
  ) {
    let key = store.getKv<string>(keyName);
    if (!key) {
      key = randomBytes(32).toString('hex');
      store.setKv(keyName, key);
    }
    this.key = Buffer.from(key, 'hex');
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  issue(subject: string, now = Date.now()): { token: string; expiresAt: number } {
    const expiresAt = now + this.ttlMs;
    const payload = `${Buffer.from(subject).toString('base64url')}.${expiresAt}`;
    return { token: `${payload}.${this.mac(payload)}`, expiresAt };
  }

  /** The subject, or null when forged or expired. */
  verify(token: string, now = Date.now()): string | null {
    const m = /^([\w-]*)\.(\d+)\.([\w-]+)$/.exec(token);
    if (!m) return null;
    if (!sameSecret(m[3]!, this.mac(`${m[1]}.${m[2]}`))) return null;
    return Number(m[2]) > now ? Buffer.from(m[1]!, 'base64url').toString() : null;
  }
}

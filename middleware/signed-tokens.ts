import { createHmac, randomBytes } from 'node:crypto';
import { sameSecret } from './secrets';
import { StoreUnavailableError, type Store } from './store';

/**
 * Short-lived signed tokens `<subject base64url>.<expiry>.<hmac>`, keyed by a secret kept in the store (so they
 * survive a restart and nobody configures a key). Used where we hand out a session instead of keeping someone's
 * credentials: the statistics page, the agent's gadget. Every node of a pair reads the same key, so a token one node
 * gave is good on the other. Until the key is read (`load`, at start) nothing verifies.
 */
export class SignedTokens {
  private key: Buffer | null = null;

  constructor(
    private readonly store: Store,
    private readonly keyName: string,
    readonly ttlMs: number,
  ) {}

  /** Reads the key, or makes it: two nodes starting at once both end with the one that was stored first. */
  async load(): Promise<void> {
    await this.store.claimKv(this.keyName, randomBytes(32).toString('hex'));
    const key = await this.store.getKv<string>(this.keyName);
    if (!key) throw new Error(`the store lost the key ${this.keyName}`);
    this.key = Buffer.from(key, 'hex');
  }

  get loaded(): boolean {
    return this.key !== null;
  }

  private mac(payload: string): string {
    if (!this.key) throw new StoreUnavailableError('the signing key has not been read from the store yet');
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
    if (!m || !this.key) return null;
    if (!sameSecret(m[3]!, this.mac(`${m[1]}.${m[2]}`))) return null;
    return Number(m[2]) > now ? Buffer.from(m[1]!, 'base64url').toString() : null;
  }
}

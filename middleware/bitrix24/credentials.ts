import type { Logger, SecretScrubber } from '../log';
import type { Store } from '../store';
import { AuthError, NotInstalledError, TransportError } from './errors';

/** Where and how to call: `base` ends with "/" and the method name is appended; `auth` is the OAuth access token. */
export interface Endpoint {
  base: string;
  auth: string | null;
}

export interface Credentials {
  readonly mode: 'webhook' | 'app';
  endpoint(): Endpoint;
  /** Present where tokens expire (application mode): called after `expired_token` for the request made with `rejected`. */
  refresh?(rejected: Endpoint): Promise<void>;
}

export class WebhookCredentials implements Credentials {
  readonly mode = 'webhook';
  constructor(private readonly url: string) {}
  endpoint(): Endpoint {
    return { base: this.url, auth: null };
  }
}

/** What the portal gave us at install (and refreshes since). */
export interface Installation {
  memberId: string;
  domain: string;
  clientEndpoint: string;
  serverEndpoint: string;
  accessToken: string;
  refreshToken: string;
  applicationToken: string;
  expiresAt: number;
  installedAt: number;
}

const KEY = 'bitrix24.installation';

/** The bus topic on which a node tells the others that the installation changed (a refresh, an install, an uninstall). */
const CHANGED = 'bitrix24.installation';
/** How often a node without an installation looks for one in the store (when asked for it). */
const RELOAD_MISSING_MS = 5000;

/**
 * Application mode (a local OAuth application). Tokens are persisted; a refresh happens only after the portal
 * answered `expired_token` (refreshing early can get an application blocked), once for all waiting callers —
 * of all nodes: the refresh runs under the store's lock, and a node that gets the lock after another refreshed
 * reads the new tokens instead of spending the rotated refresh token a second time (Bitrix24 refuses it, and the
 * application would need reinstalling). The installation is kept in memory (every request needs it) and read
 * again when another node says it changed.
 */
export class AppCredentials implements Credentials {
  readonly mode = 'app';
  private refreshing: Promise<void> | null = null;
  private current: Installation | null = null;
  private loadedAt = 0;
  /** Refreshes this node made (the bench and tests count them against the portal's). */
  refreshes = 0;

  constructor(
    private readonly store: Store,
    private readonly app: { clientId: string; clientSecret: string; oauthUrl: string },
    private readonly scrubber: SecretScrubber,
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {
    store.subscribe(CHANGED, () => {
      this.load().catch((err: Error) => this.log.warn({ err }, 'could not read the installation another node changed'));
    });
  }

  /** Reads the installation from the store (at start, and when another node changed it). */
  async load(): Promise<Installation | null> {
    this.loadedAt = Date.now();
    const inst = await this.store.getKv<Installation>(KEY);
    if (inst) this.scrubber.add(inst.accessToken, inst.refreshToken, inst.applicationToken);
    this.current = inst;
    return inst;
  }

  installation(): Installation | null {
    // Not installed as far as this node knows: another node may have taken the install while this one missed the
    // message (its LISTEN connection was being opened again): look in the store now and then.
    if (!this.current && Date.now() - this.loadedAt > RELOAD_MISSING_MS) void this.load().catch(() => undefined);
    return this.current;
  }

  async save(inst: Installation): Promise<void> {
    this.scrubber.add(inst.accessToken, inst.refreshToken, inst.applicationToken);
    await this.store.setKv(KEY, inst);
    this.current = inst;
    await this.tellOthers();
  }

  /** The application was uninstalled: its tokens are dead; a new install starts over. */
  async forget(): Promise<void> {
    await this.store.deleteKv(KEY);
    this.current = null;
    await this.tellOthers();
  }

  private async tellOthers(): Promise<void> {
    // The others also read the store again after an `expired_token`: a lost message costs one more request.
    await this.store.publish(CHANGED, null).catch((err: Error) => this.log.warn({ err }, 'could not tell the other nodes about the new installation'));
  }

  endpoint(): Endpoint {
    const inst = this.installation();
    if (!inst) throw new NotInstalledError('NOT_INSTALLED', 'the Bitrix24 application is not installed yet', null, 'app');
    return { base: inst.clientEndpoint, auth: inst.accessToken };
  }

  refresh(rejected: Endpoint): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const inst = this.installation();
    if (!inst) return Promise.reject(new NotInstalledError('NOT_INSTALLED', 'the Bitrix24 application is not installed yet', null, 'app'));
    if (inst.accessToken !== rejected.auth) return Promise.resolve(); // someone refreshed already
    this.refreshing = this.store
      .exclusive('bitrix24.refresh', async () => {
        // Under the lock, the store is the truth: another node may have refreshed while we waited for it.
        const stored = await this.load();
        if (!stored) throw new NotInstalledError('NOT_INSTALLED', 'the Bitrix24 application is not installed yet', null, 'app');
        if (stored.accessToken !== rejected.auth) return;
        await this.doRefresh(stored);
      })
      .finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async doRefresh(inst: Installation): Promise<void> {
    // The token endpoint is configured (B24_OAUTH_URL), never taken from an install or event: our client_secret goes there.
    const url = new URL(this.app.oauthUrl);
    url.search = new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: this.app.clientId,
      client_secret: this.app.clientSecret,
      refresh_token: inst.refreshToken,
    }).toString();
    let res: Response;
    let body: Record<string, unknown>;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
      body = (await res.json()) as Record<string, unknown>;
    } catch (err) {
      throw new TransportError('', `token refresh failed: ${(err as Error).message}`, null, 'oauth/token');
    }
    if (!res.ok || typeof body.access_token !== 'string' || typeof body.refresh_token !== 'string') {
      // invalid_grant: the refresh token is spent or older than 180 days; only a reinstall helps.
      throw new AuthError(String(body.error ?? ''), String(body.error_description ?? 'token refresh refused'), res.status, 'oauth/token');
    }
    const expiresIn = Number(body.expires_in ?? 3600);
    this.refreshes += 1;
    await this.save({
      ...inst,
      accessToken: body.access_token,
      refreshToken: body.refresh_token,
      // The REST endpoint stays the pinned portal's, whatever the answer names.
      expiresAt: Date.now() + expiresIn * 1000,
    });
    this.log.info({ memberId: inst.memberId }, 'Bitrix24 access token refreshed');
  }
}

import Router from '@koa/router';
import Koa from 'koa';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import qs from 'qs';
import { restMethods, newCallId, type Auth, type EmulatedCall, type OfflineEvent, type Params, type PortalState } from './methods';
import { BX24_STANDIN, renderLocalAppForm, renderSavedApp } from './admin-pages';
import { runBatch } from './batch';
import { Portal, RestError, seedDemoPortal, type EntityType } from './portal';
import { renderCallLog, renderEntityPage, renderHome } from './pages';

/**
 * A Bitrix24 portal emulator for the lab and the tests, speaking HTTP exactly like the REST API in
 * Bitrix24's REST documentation (github.com/bitrix24/b24restdocs) and conformance/bitrix24: webhook and OAuth endpoints, the envelope with `time`, errors with their HTTP
 * statuses (including empty codes), the per-IP leaky bucket with the exact 503 body, operating limits, expiring
 * and rotating tokens, `batch` semantics, and switches for latency and outages. The HTTP side is here (Koa, as the
 * Finesse emulator); each REST method lives in `methods/`, registered in one table.
 */
export interface EmulatorOptions {
  rate?: { perSecond: number; burst: number };
  webhook?: { userId: number; secret: string };
  app?: { clientId: string; clientSecret: string };
  tokenTtlS?: number;
  portal?: Portal;
}

export type { EmulatedCall };

export interface Counters {
  httpRequests: number;
  rejected503: number;
  calls: Record<string, number>;
  /** Commands as they arrive (before any latency): what was sent, done or not. */
  received: Record<string, number>;
  refreshes: number;
  /** Refreshes refused because the refresh token was spent already (or never issued): a connector's bug. */
  refusedRefreshes: number;
  /** Requests answered 401 expired_token. */
  expiredTokens: number;
}

type Ctx = Koa.ParameterizedContext<{ params: Params }>;

const HTML = 'text/html; charset=utf-8';

function send(ctx: Ctx, status: number, body: unknown, type = 'application/json; charset=utf-8'): void {
  ctx.status = status;
  ctx.type = type;
  ctx.body = typeof body === 'string' ? body : JSON.stringify(body);
}

/** The request's parameters as Bitrix24 reads them: the query and a form or JSON body, nested (`qs`). */
async function readParams(ctx: Ctx): Promise<Params | null> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  let body: Params;
  try {
    body = ctx.get('content-type').includes('json') && raw ? (JSON.parse(raw) as Params) : (qs.parse(raw, { depth: 10, arrayLimit: 1000 }) as Params);
  } catch {
    return null;
  }
  return { ...(qs.parse(ctx.querystring, { depth: 10 }) as Params), ...body };
}

export class Bitrix24Emulator implements PortalState {
  readonly portal: Portal;
  readonly webhook: { userId: number; secret: string };
  readonly app: { clientId: string; clientSecret: string };
  readonly memberId = 'lab' + randomBytes(8).toString('hex');
  readonly applicationToken = randomBytes(16).toString('hex');
  /** Our application's page (the handler Bitrix24 frames), set when the lab installs the app. */
  appHandler = '';
  /** The installation path saved in the local application's form (the lab's admin pages). */
  installPath = '';
  /** The administrator who saves and installs the application. */
  readonly admin = 1;
  /**
   * Whether the installation is finished: an application with an interface is installed only when its install page
   * calls BX24.installFinish(), and until then the portal delivers no event (b24restdocs
   * settings/app-installation/installation-finish.md). The lab's quick install (a script-only callback) is finished.
   */
  installFinished = true;
  switches = {
    latencyMs: 0,
    /** Extra time some methods take (e.g. crm.lead.add on a busy portal): the request carrying them waits. */
    methodLatencyMs: new Map<string, number>(),
    outage: 'none' as 'none' | 'hang' | 'error',
    /** Other applications keep the portal's REST bucket full: every request is refused 503 QUERY_LIMIT_EXCEEDED. */
    busy: false,
    /**
     * The portal was deleted (every REST request: 403 PORTAL_DELETED, as the 2026 system error table gives it; 500 in
     * the 2024 one), or it moved (301 to `movedTo`, as a renamed cloud portal's old address answers).
     */
    portal: 'ok' as 'ok' | 'deleted' | 'moved',
    /**
     * A register for a number and user that already have an open (unfinished) call hands back that call's CALL_ID,
     * whatever the EXTERNAL_CALL_ID — two overlapping calls share one (reported on the REST docs' tracker, 2025).
     */
    reuseOpenCallId: false,
    /**
     * A register asking for a lead (CRM_CREATE=1, no record) makes one for the user — or, 'disabled', answers the
     * call with LEAD_CREATION_ERROR and no lead, as the real answer in conformance/bitrix24/docs/register-lead-creation-error.json.
     */
    leadCreation: 'on' as 'on' | 'disabled',
    movedTo: 'https://renamed.bitrix24.example/',
    operatingLimited: new Set<string>(),
    failNext: new Map<string, RestError>(),
    /** The 2026 docs: register/finish/externalLine "only in the context of an application" (b24restdocs, telephony-external-call-register.md). */
    webhookTelephonyDenied: false,
    /** Set by a test: every REST answer waits for this promise (requests that must all be in flight at once). */
    gate: null as Promise<void> | null,
  };
  counters: Counters = { httpRequests: 0, rejected503: 0, calls: {}, received: {}, refreshes: 0, refusedRefreshes: 0, expiredTokens: 0 };
  private rate: { perSecond: number; burst: number };
  private buckets = new Map<string, { level: number; at: number }>();
  private tokens = new Map<string, { userId: number; expiresAt: number }>();
  private refreshTokens = new Map<string, number>();
  private readonly tokenTtlS: number;
  /** Registered external calls (telephony.externalCall.*), in order. */
  readonly calls: EmulatedCall[] = [];
  /** event.bind bindings of the application: event (upper case) → handler URLs. */
  readonly bindings = new Map<string, Set<string>>();
  /** Events bound with event_type=offline: queued on the portal, read with event.offline.get (conformance/bitrix24/docs/offline-events.md). */
  readonly offlineBindings = new Set<string>();
  /** The offline queue: one record per object and event, the latest change only (as the documentation says). */
  readonly offlineQueue = new Map<string, OfflineEvent>();
  private offlineIds = 0;
  /** External lines of the application (telephony.externalLine.*). */
  readonly lines = new Map<string, { NUMBER: string; NAME: string; CRM_AUTO_CREATE: string }>();
  /** The portal's default line for outgoing calls (voximplant.line.outgoing.*): a SIP line until someone changes it. */
  defaultOutgoingLine = 'reg150907';
  /** The scopes the application was given (the `scope` method); an administrator may have left one out. */
  scopes = new Set(['crm', 'telephony', 'user', 'im', 'placement']);
  /** Whether the application's token may manage numbers (voximplant.line.outgoing.set needs that right). */
  mayManageNumbers = true;
  /** The application's placements (placement.bind). */
  readonly placements: PortalState['placements'] = [];
  /** im.notify.system.add messages, in order. */
  readonly notifications: Array<{ userId: number; message: string; at: number }> = [];
  /** Every event delivery made, with the handler's HTTP status (0: unreachable). */
  readonly deliveries: Array<{ event: string; handler: string; status: number; at: number }> = [];
  /** Tolerance switches for deliveries (b24restdocs api-reference/events: a delivery may repeat): send each one twice. */
  deliverTwice = false;
  private server: http.Server | null = null;
  private hung = new Set<http.ServerResponse>();

  constructor(opts: EmulatorOptions = {}) {
    this.portal = opts.portal ?? seedDemoPortal();
    this.rate = opts.rate ?? { perSecond: 2, burst: 50 };
    this.webhook = opts.webhook ?? { userId: 1, secret: randomBytes(8).toString('hex') };
    this.app = opts.app ?? { clientId: 'local.lab0000000001', clientSecret: randomBytes(16).toString('hex') };
    this.tokenTtlS = opts.tokenTtlS ?? 3600;
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | undefined;
    if (!a) throw new Error('emulator not started');
    return `http://127.0.0.1:${a.port}`;
  }
  get webhookUrl(): string {
    return `${this.url}/rest/${this.webhook.userId}/${this.webhook.secret}/`;
  }

  setRate(rate: { perSecond: number; burst: number }): void {
    this.rate = rate;
    this.buckets.clear();
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = http.createServer(this.httpApp().callback());
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, resolve);
    });
    return this.url;
  }

  async stop(): Promise<void> {
    this.release();
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }

  /** Ends an outage of kind "hang": the held requests are cut off (the client sees a network error). */
  release(): void {
    for (const res of this.hung) res.destroy();
    this.hung.clear();
  }

  /** Issues an access/refresh pair for the application as the install callback carries it. */
  issueTokens(userId = 1): { accessToken: string; refreshToken: string } {
    const accessToken = randomBytes(36).toString('hex');
    const refreshToken = randomBytes(36).toString('hex');
    this.tokens.set(accessToken, { userId, expiresAt: Date.now() + this.tokenTtlS * 1000 });
    this.refreshTokens.set(refreshToken, userId);
    return { accessToken, refreshToken };
  }

  expireAccessTokens(): void {
    for (const t of this.tokens.values()) t.expiresAt = 0;
  }

  /** The form Bitrix24 POSTs to a script-only application's install path (ONAPPINSTALL). */
  installForm(): string {
    const { accessToken, refreshToken } = this.issueTokens();
    return qs.stringify({
      event: 'ONAPPINSTALL',
      data: { VERSION: '1', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: 'ru' },
      ts: String(Math.floor(Date.now() / 1000)),
      auth: { ...this.authFields(accessToken, 'crm,telephony,user,placement'), refresh_token: refreshToken },
    });
  }

  /** The `auth[...]` Bitrix24 sends with its install callback (b24restdocs settings/app-installation/local-apps/installation-callback.md). */
  private authFields(accessToken: string, scope: string): Record<string, string> {
    return {
      access_token: accessToken,
      expires_in: String(this.tokenTtlS),
      scope,
      domain: new URL(this.url).host,
      server_endpoint: `${this.url}/rest/`,
      status: 'L',
      client_endpoint: `${this.url}/rest/`,
      member_id: this.memberId,
      application_token: this.applicationToken,
    };
  }

  /**
   * The `auth[...]` of an event delivery in its layout since late 2024: no `server_endpoint`, and `expires` (a Unix
   * time) and `user_id` (the user whose token it is: the one who acted) added.
   */
  private eventAuthFields(userId: number, scope: string): Record<string, string> {
    const { accessToken } = this.issueTokens(userId);
    const { server_endpoint: _dropped, ...rest } = this.authFields(accessToken, scope);
    return { ...rest, expires: String(Math.floor(Date.now() / 1000) + this.tokenTtlS), user_id: String(userId) };
  }

  /** Portal administrators (user.admin): the first user, who installs applications. */
  readonly admins = new Set([1]);

  /** The administrator removes the application: its tokens die at once, then ONAPPUNINSTALL is delivered. */
  async uninstall(): Promise<number[]> {
    this.tokens.clear();
    this.refreshTokens.clear();
    this.placements.length = 0; // the application's placements go with it
    return this.emit('ONAPPUNINSTALL', { CLEAN: '0' });
  }

  async installInto(installUrl: string): Promise<Response> {
    return this.deliver(installUrl, this.installForm());
  }

  /** POSTs a form to an application handler the way Bitrix24 does (form-encoded; a slow handler is given up on). */
  deliver(handler: string, form: string): Promise<Response> {
    return fetch(handler, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form, signal: AbortSignal.timeout(5000) });
  }

  /** The form Bitrix24 POSTs into an application frame for `userId` (b24restdocs local-integrations/serverside-local-app-with-ui.md). */
  frameForm(userId: number): Record<string, string> {
    const { accessToken, refreshToken } = this.issueTokens(userId);
    return {
      AUTH_ID: accessToken,
      AUTH_EXPIRES: String(this.tokenTtlS),
      REFRESH_ID: refreshToken,
      SERVER_ENDPOINT: `${this.url}/rest/`,
      member_id: this.memberId,
      status: 'L',
      PLACEMENT: 'DEFAULT',
      PLACEMENT_OPTIONS: '{}',
      APPLICATION_TOKEN: this.applicationToken,
    };
  }

  /**
   * What the installation frame posts to the installation path: the frame's fields without APPLICATION_TOKEN, as
   * portals post it in 2025–26 (the token arrives with ONAPPINSTALL after installFinish).
   */
  installFrameForm(userId: number): Record<string, string> {
    const { APPLICATION_TOKEN: _withheld, ...form } = this.frameForm(userId);
    return form;
  }

  /** BX24.installFinish() reached the portal: the installation is finished and ONAPPINSTALL is delivered. */
  finishInstall(): Promise<number[]> {
    this.installFinished = true;
    return this.emit('ONAPPINSTALL', { VERSION: '1', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: 'ru' }, this.admin);
  }

  /** A portal page that opens our application in a frame, as Bitrix24 does. */
  private appFrame(userId: number, lang: string, extra: Record<string, string> = {}): string {
    const action = `${this.appHandler}?${new URLSearchParams({ DOMAIN: new URL(this.url).host, PROTOCOL: '0', LANG: lang, APP_SID: 'lab', ...extra })}`;
    const inputs = Object.entries(this.frameForm(userId))
      .map(([k, v]) => `<input type="hidden" name="${k}" value="${v.replace(/"/g, '&quot;')}">`)
      .join('');
    return `<!doctype html><html><head><meta charset="utf-8"><title>Bitrix24 · app</title><style>body{margin:0;font:14px Arial;background:#eef2f4}header{background:#2fc6f6;color:#fff;padding:8px 16px}iframe{border:0;width:100%;height:calc(100vh - 40px)}</style></head>
<body><header>Bitrix24 (lab) · ${lang === 'en' ? 'Applications' : 'Приложения'} · user #${userId}</header><iframe name="app" id="app"></iframe>
<form id="f" method="post" target="app" action="${action}">${inputs}</form><script>document.getElementById('f').submit();</script></body></html>`;
  }

  /**
   * A user clicks a phone number in a CRM card (b24restdocs api-reference/telephony/events/on-external-call-start.md): Bitrix24 registers the outgoing call
   * itself and sends ONEXTERNALCALLSTART to the application owning the default outgoing line.
   */
  async clickToCall(userId: number, phone: string, entity?: { type: EntityType; id: number }): Promise<EmulatedCall> {
    const call: EmulatedCall = {
      CALL_ID: newCallId(),
      EXTERNAL_CALL_ID: '',
      USER_ID: userId,
      PHONE_NUMBER: phone,
      TYPE: 1,
      LINE_NUMBER: '',
      CRM_ENTITY_TYPE: entity?.type ?? '',
      CRM_ENTITY_ID: entity?.id ?? 0,
      registeredAt: Date.now(),
      origin: 'click',
      finished: null,
    };
    this.calls.push(call);
    const digits = phone.replace(/\D/g, '');
    await this.emit(
      'ONEXTERNALCALLSTART',
      {
        PHONE_NUMBER: phone,
        PHONE_NUMBER_INTERNATIONAL: digits.length === 11 && /^[78]/.test(digits) ? `+7${digits.slice(1)}` : `+${digits}`,
        EXTENSION: '',
        USER_ID: String(userId),
        CALL_LIST_ID: '0',
        LINE_NUMBER: '',
        IS_MOBILE: '0',
        CALL_ID: call.CALL_ID,
        CRM_ENTITY_TYPE: entity?.type ?? '',
        CRM_ENTITY_ID: String(entity?.id ?? 0),
      },
      userId,
    ); // delivered with the clicking user's token, as Bitrix24 does
    return call;
  }

  /** The form of an event delivery as Bitrix24 POSTs it (b24restdocs api-reference/events/index.md). */
  eventForm(event: string, data: Record<string, unknown>, auth: Partial<Record<string, string>> = {}, asUser = 1): string {
    return qs.stringify({
      event,
      event_handler_id: '17',
      data,
      ts: String(Math.floor(Date.now() / 1000)),
      auth: { ...this.eventAuthFields(asUser, 'crm,telephony,user,placement,im'), ...auth },
    });
  }

  /** A CRM record was added, changed or deleted: ONCRM<TYPE><ADD|UPDATE|DELETE> with data[FIELDS][ID], as b24restdocs show it. */
  crmChanged(type: EntityType, id: number, kind: 'ADD' | 'UPDATE' | 'DELETE'): Promise<number[]> {
    const event = `ONCRM${type}${kind}`;
    if (this.offlineBindings.has(event)) {
      const key = `${event}:${id}`;
      this.offlineQueue.delete(key); // the latest change of an object only, at the end of the queue
      this.offlineIds += 1;
      this.offlineQueue.set(key, {
        ID: String(this.offlineIds),
        TIMESTAMP_X: new Date().toISOString().replace(/\.\d+Z$/, '+00:00'),
        EVENT_NAME: event,
        // The documentation's example shows `false`; connectors in production read the record's ID from FIELDS.
        EVENT_DATA: this.offlineEventData === 'empty' ? false : { FIELDS: { ID: String(id) } },
        EVENT_ADDITIONAL: false,
        MESSAGE_ID: String(this.offlineIds),
      });
    }
    return this.emit(event, { FIELDS: { ID: String(id) } });
  }

  /** What offline events carry: the record's id (as connectors read them), or nothing (as the docs' example shows). */
  offlineEventData: 'fields' | 'empty' = 'fields';

  /** Delivers an event to every bound handler, once (no retries, like Bitrix24), or twice with `deliverTwice`. */
  async emit(event: string, data: Record<string, unknown>, asUser = 1): Promise<number[]> {
    const statuses: number[] = [];
    if (!this.installFinished) return statuses; // no event before the installation is finished
    for (const handler of this.bindings.get(event) ?? []) {
      for (let i = 0; i < (this.deliverTwice ? 2 : 1); i++) {
        const status = await this.deliver(handler, this.eventForm(event, data, {}, asUser))
          .then((r) => r.status)
          .catch(() => 0);
        this.deliveries.push({ event, handler, status, at: Date.now() });
        statuses.push(status);
      }
    }
    return statuses;
  }

  leadCount(phone?: string): number {
    return phone ? this.portal.leadsWithPhone(phone).length : this.portal.list('LEAD').length;
  }

  // ---------------------------------------------------------------- HTTP

  private httpApp(): Koa<{ params: Params }> {
    const app = new Koa<{ params: Params }>();
    const router = new Router<{ params: Params }>();
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        if (!ctx.headerSent) send(ctx, 500, { error: 'INTERNAL_SERVER_ERROR', error_description: err instanceof Error ? err.message : String(err) });
      }
    });
    app.use(async (ctx, next) => {
      const params = await readParams(ctx);
      if (!params) return send(ctx, 400, { error: 'INVALID_REQUEST', error_description: 'Invalid JSON' });
      ctx.state.params = params;
      await next();
    });
    router.all('/oauth/token', (ctx) => this.oauth(ctx, ctx.state.params));
    router.get('/_lab/state', (ctx) => this.labState(ctx));
    router.post('/_lab/switches', (ctx) => this.labSwitches(ctx, ctx.state.params));
    router.all('/rest/:user/:secret/:method', (ctx) => this.rest(ctx, ctx.params.method!, ctx.params.user, ctx.params.secret));
    router.all('/rest/:method', (ctx) => this.rest(ctx, ctx.params.method!));
    router.get('/', (ctx) => send(ctx, 200, renderHome(this.portal), HTML));
    router.get('/lab/app', (ctx) => {
      const extra = Object.fromEntries(Object.entries(ctx.query).filter(([k]) => k === 'from' || k === 'to')) as Record<string, string>;
      send(ctx, 200, this.appFrame(Number(ctx.query.user ?? 1), String(ctx.query.lang ?? 'ru'), extra), HTML);
    });
    router.get('/crm/:type/details/:id', (ctx) => {
      const type = ctx.params.type!.toUpperCase();
      const e = ['LEAD', 'CONTACT', 'COMPANY'].includes(type) ? this.portal.get(type as EntityType, Number(ctx.params.id)) : undefined;
      if (!e) return send(ctx, 404, 'Not found', 'text/plain');
      send(ctx, 200, renderEntityPage(e, this.portal, this.pageUser(ctx)), HTML);
    });
    router.post('/lab/click', async (ctx) => {
      const p = ctx.state.params;
      const type = String(p.type ?? '').toUpperCase() as EntityType;
      const entity = this.portal.get(type, Number(p.id));
      if (!entity) return send(ctx, 404, 'Not found', 'text/plain');
      const user = this.pageUser(ctx);
      await this.clickToCall(user, String(p.phone ?? ''), { type, id: entity.ID });
      ctx.status = 303;
      ctx.set('location', `/lab/calls?user=${user}`);
    });
    router.get('/devops/section/standard', (ctx) => send(ctx, 200, renderLocalAppForm(String(ctx.query.handler ?? ''), String(ctx.query.install ?? '')), HTML));
    router.post('/devops/save', (ctx) => {
      const p = ctx.state.params;
      this.appHandler = String(p.handler ?? '');
      this.installPath = String(p.install ?? '');
      this.installFinished = false;
      send(ctx, 200, renderSavedApp(this, String(p.lang ?? 'ru')), HTML);
    });
    router.post('/devops/reinstall', (ctx) => {
      this.installFinished = false;
      send(ctx, 200, renderSavedApp(this, String(ctx.state.params.lang ?? 'ru')), HTML);
    });
    router.post('/_lab/install-finish', async (ctx) => send(ctx, 200, { delivered: await this.finishInstall() }));
    router.get('/lab/bx24.js', (ctx) => send(ctx, 200, BX24_STANDIN, 'application/javascript; charset=utf-8'));
    router.get('/lab/calls', (ctx) => send(ctx, 200, renderCallLog(this, this.pageUser(ctx)), HTML));
    app.use(router.routes());
    app.use((ctx) => send(ctx, 404, 'Not found', 'text/plain'));
    return app;
  }

  /** The user a portal page is shown to (the lab's pages say it in `user`; Ivan, 5, by default). */
  private pageUser(ctx: Ctx): number {
    return Number(ctx.query.user ?? ctx.state.params.user ?? 5) || 5;
  }

  private oauth(ctx: Ctx, p: Params): void {
    this.counters.refreshes += 1;
    const userId = this.refreshTokens.get(String(p.refresh_token));
    if (p.client_id !== this.app.clientId || p.client_secret !== this.app.clientSecret) {
      return send(ctx, 401, { error: 'invalid_client', error_description: 'Invalid client' });
    }
    if (p.grant_type !== 'refresh_token' || userId === undefined) {
      this.counters.refusedRefreshes += 1;
      return send(ctx, 400, { error: 'invalid_grant', error_description: 'Invalid grant' });
    }
    this.refreshTokens.delete(String(p.refresh_token)); // rotated: a reused refresh token is refused
    const { accessToken, refreshToken } = this.issueTokens(userId);
    send(ctx, 200, {
      access_token: accessToken,
      expires: Math.floor(Date.now() / 1000) + this.tokenTtlS,
      expires_in: this.tokenTtlS,
      scope: 'app',
      domain: 'oauth.bitrix.info',
      server_endpoint: `${this.url}/rest/`,
      status: 'L',
      client_endpoint: `${this.url}/rest/`,
      member_id: this.memberId,
      user_id: userId,
      refresh_token: refreshToken,
    });
  }

  private labState(ctx: Ctx): void {
    send(ctx, 200, {
      switches: { latencyMs: this.switches.latencyMs, outage: this.switches.outage, busy: this.switches.busy, operatingLimited: [...this.switches.operatingLimited] },
      counters: this.counters,
      leads: this.portal.list('LEAD'),
    });
  }

  private labSwitches(ctx: Ctx, p: Params): void {
    if (p.latencyMs !== undefined) this.switches.latencyMs = Math.max(0, Number(p.latencyMs) || 0);
    if (p.busy !== undefined) this.switches.busy = p.busy === true || p.busy === 'true';
    if (p.outage === 'none' || p.outage === 'hang' || p.outage === 'error') {
      this.switches.outage = p.outage;
      if (p.outage === 'none') this.release();
    }
    send(ctx, 200, { ok: true });
  }

  /** The rate limiter's clock: tests stop it to look at one instant of a burst, whatever the machine's load. */
  clock: () => number = Date.now;

  private bucketAllows(ip: string): boolean {
    const now = this.clock();
    const b = this.buckets.get(ip) ?? { level: 0, at: now };
    b.level = Math.max(0, b.level - ((now - b.at) / 1000) * this.rate.perSecond);
    b.at = now;
    this.buckets.set(ip, b);
    if (b.level + 1 > this.rate.burst) return false;
    b.level += 1;
    return true;
  }

  private authenticate(p: Params, userId?: string, secret?: string): Auth {
    if (userId !== undefined) {
      if (Number(userId) !== this.webhook.userId || secret !== this.webhook.secret) throw new RestError(401, 'NO_AUTH_FOUND', 'Wrong authorization data');
      return { kind: 'webhook', userId: this.webhook.userId };
    }
    const token = typeof p.auth === 'string' ? p.auth : '';
    const t = this.tokens.get(token);
    if (!t) throw new RestError(401, 'NO_AUTH_FOUND', 'Wrong authorization data');
    if (t.expiresAt <= Date.now()) {
      this.counters.expiredTokens += 1;
      throw new RestError(401, 'expired_token', 'The access token provided has expired.');
    }
    return { kind: 'app', userId: t.userId };
  }

  private envelope(result: unknown, started: number, extra: Params = {}): Params {
    const finish = Date.now() / 1000;
    const start = started / 1000;
    return {
      result,
      ...extra,
      time: {
        start,
        finish,
        duration: finish - start,
        processing: finish - start,
        date_start: new Date(started).toISOString(),
        date_finish: new Date().toISOString(),
        operating_reset_at: Math.floor(finish) + 600,
        operating: 0,
      },
    };
  }

  private async rest(ctx: Ctx, path: string, userId?: string, secret?: string): Promise<void> {
    const method = path.replace(/\.json$/, '');
    if (!/^[a-zA-Z0-9_.]+$/.test(method)) return send(ctx, 404, 'Not found', 'text/plain');
    const p = ctx.state.params;
    const started = Date.now();
    this.counters.httpRequests += 1;
    const ip = ctx.req.socket.remoteAddress ?? '';
    if (this.switches.outage === 'hang') {
      ctx.respond = false; // held until the outage ends (release) or the client gives up
      this.hung.add(ctx.res);
      return;
    }
    // A batch answers when its slowest command ran: a slow method slows every command sent with it.
    const methods = method === 'batch' ? Object.values((p.cmd ?? {}) as Record<string, string>).map((c) => String(c).split('?')[0]!) : [method];
    for (const m of methods) this.counters.received[m] = (this.counters.received[m] ?? 0) + 1;
    const slowest = Math.max(0, ...methods.map((m) => this.switches.methodLatencyMs.get(m) ?? 0));
    const latency = this.switches.latencyMs + slowest;
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    if (this.switches.gate) await this.switches.gate;
    if (this.switches.outage === 'error') return send(ctx, 500, { error: 'INTERNAL_SERVER_ERROR', error_description: 'Internal server error' });
    if (this.switches.portal === 'deleted') return send(ctx, 403, { error: 'PORTAL_DELETED', error_description: 'Portal was deleted' });
    if (this.switches.portal === 'moved') {
      ctx.status = 301;
      ctx.set('location', `${this.switches.movedTo.replace(/\/+$/, '')}${ctx.url}`);
      return;
    }
    if (this.switches.busy || !this.bucketAllows(ip)) {
      this.counters.rejected503 += 1;
      return send(ctx, 503, { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' });
    }
    try {
      const auth = this.authenticate(p, userId, secret);
      if (method === 'batch')
        return send(
          ctx,
          200,
          this.envelope(
            runBatch(p, (m, q) => this.call(m, q, auth)),
            started,
          ),
        );
      send(ctx, 200, this.envelope(this.call(method, p, auth), started));
    } catch (err) {
      if (err instanceof RestError) return send(ctx, err.status, { error: err.code, error_description: err.description });
      throw err;
    }
  }

  private call(method: string, p: Params, auth: Auth): unknown {
    this.counters.calls[method] = (this.counters.calls[method] ?? 0) + 1;
    const forced = this.switches.failNext.get(method);
    if (forced) {
      this.switches.failNext.delete(method);
      throw forced;
    }
    if (this.switches.operatingLimited.has(method)) throw new RestError(429, 'OPERATION_TIME_LIMIT', 'Method is blocked due to operation time limit.');
    if (this.switches.webhookTelephonyDenied && auth.kind === 'webhook' && /^telephony\.(externalCall\.(register|finish)|externalLine\.)/.test(method)) {
      throw new RestError(403, 'WRONG_AUTH_TYPE', 'Current authorization type is denied for this method');
    }
    const handler = restMethods.get(method);
    if (!handler) throw new RestError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!');
    return handler({ state: this, method, p, auth });
  }
}

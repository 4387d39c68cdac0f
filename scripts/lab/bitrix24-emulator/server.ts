import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import qs from 'qs';
import { Portal, RestError, seedDemoPortal, type EntityType, type PortalEntity } from './portal';
import { renderCallLog, renderEntityPage, renderHome } from './pages';

/**
 * A Bitrix24 portal emulator for the lab and the tests, speaking HTTP exactly like the REST API in
 * Bitrix24's REST documentation (github.com/bitrix24/b24restdocs) and conformance/bitrix24: webhook and OAuth endpoints, the envelope with `time`, errors with their HTTP
 * statuses (including empty codes), the per-IP leaky bucket with the exact 503 body, operating limits, expiring
 * and rotating tokens, `batch` semantics, and switches for latency and outages.
 */
export interface EmulatorOptions {
  rate?: { perSecond: number; burst: number };
  webhook?: { userId: number; secret: string };
  app?: { clientId: string; clientSecret: string };
  tokenTtlS?: number;
  portal?: Portal;
}

type Params = Record<string, unknown>;
type Auth = { kind: 'webhook'; userId: number } | { kind: 'app'; userId: number };

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

/** Bitrix24's CALL_ID format (as register answers in b24restdocs): externalCall.<32 hex>.<unix ts>. */
const newCallId = () => `externalCall.${randomBytes(16).toString('hex')}.${Math.floor(Date.now() / 1000)}`;

/** Methods Bitrix24 refuses to webhooks (app.info, event.*: b24restdocs local-integrations/local-webhooks.md). */
function appOnly(auth: Auth): void {
  if (auth.kind !== 'app') throw new RestError(401, 'ACCESS_DENIED', 'Access denied! Application context required');
}

export interface EmulatedCall {
  CALL_ID: string;
  EXTERNAL_CALL_ID: string;
  USER_ID: number;
  PHONE_NUMBER: string;
  TYPE: number;
  LINE_NUMBER: string;
  CRM_ENTITY_TYPE: string;
  CRM_ENTITY_ID: number;
  registeredAt: number;
  /** 'rest': telephony.externalCall.register; 'click': Bitrix24 itself, for a click on a number. */
  origin: 'rest' | 'click';
  finished: null | { STATUS_CODE: string; DURATION: number; FAILED_REASON: string; at: number };
}

export class Bitrix24Emulator {
  readonly portal: Portal;
  readonly webhook: { userId: number; secret: string };
  readonly app: { clientId: string; clientSecret: string };
  readonly memberId = 'lab' + randomBytes(8).toString('hex');
  readonly applicationToken = randomBytes(16).toString('hex');
  /** Our application's page (the handler Bitrix24 frames), set when the lab installs the app. */
  appHandler = '';
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
  readonly offlineQueue = new Map<string, { ID: string; TIMESTAMP_X: string; EVENT_NAME: string; EVENT_DATA: unknown; EVENT_ADDITIONAL: unknown; MESSAGE_ID: string }>();
  private offlineIds = 0;
  /** External lines of the application (telephony.externalLine.*). */
  readonly lines = new Map<string, { NUMBER: string; NAME: string; CRM_AUTO_CREATE: string }>();
  /** The portal's default line for outgoing calls (voximplant.line.outgoing.*): a SIP line until someone changes it. */
  defaultOutgoingLine = 'reg150907';
  /** The scopes the application was given (the `scope` method); an administrator may have left one out. */
  scopes = new Set(['crm', 'telephony', 'user', 'im', 'placement']);
  /** Whether the application's token may manage numbers (voximplant.line.outgoing.set needs that right). */
  mayManageNumbers = true;
  /** voximplant.line.get: the portal's own lines and the applications' external lines (REST_APP:<app>:<number>). */
  private voximplantLines(): Record<string, string> {
    const own: Record<string, string> = { reg150907: 'SIP line', sip7: 'Office PBX 1' };
    for (const l of this.lines.values()) own[`REST_APP:7:${l.NUMBER}`] = l.NAME;
    return own;
  }
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
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) this.send(res, 500, { error: 'INTERNAL_SERVER_ERROR', error_description: err.message });
      });
    });
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

  private send(res: http.ServerResponse, status: number, body: unknown, type = 'application/json; charset=utf-8'): void {
    res.writeHead(status, { 'content-type': type });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const type = String(req.headers['content-type'] ?? '');
    let body: Params = {};
    try {
      body = type.includes('json') && raw ? (JSON.parse(raw) as Params) : (qs.parse(raw, { depth: 10, arrayLimit: 1000 }) as Params);
    } catch {
      return this.send(res, 400, { error: 'INVALID_REQUEST', error_description: 'Invalid JSON' });
    }
    const params: Params = { ...(qs.parse(url.search.slice(1), { depth: 10 }) as Params), ...body };

    if (url.pathname === '/oauth/token/' || url.pathname === '/oauth/token') return this.oauth(res, params);
    if (url.pathname.startsWith('/_lab/')) return this.control(req, res, url.pathname, params);
    const rest = /^\/rest\/(?:(\d+)\/([^/]+)\/)?([a-zA-Z0-9_.]+?)(?:\.json)?$/.exec(url.pathname);
    if (rest) return this.rest(req, res, rest[3]!, params, rest[1], rest[2]);
    if (url.pathname === '/' || url.pathname === '') return this.send(res, 200, renderHome(this.portal), 'text/html; charset=utf-8');
    if (url.pathname === '/lab/app') {
      const extra = Object.fromEntries([...url.searchParams].filter(([k]) => k === 'from' || k === 'to'));
      return this.send(res, 200, this.appFrame(Number(url.searchParams.get('user') ?? 1), url.searchParams.get('lang') ?? 'ru', extra), 'text/html; charset=utf-8');
    }
    const page = /^\/crm\/(lead|contact|company)\/details\/(\d+)\/?$/.exec(url.pathname);
    const user = Number(url.searchParams.get('user') ?? params.user ?? 5) || 5;
    if (page) {
      const e = this.portal.get(page[1]!.toUpperCase() as EntityType, Number(page[2]));
      return e ? this.send(res, 200, renderEntityPage(e, this.portal, user), 'text/html; charset=utf-8') : this.send(res, 404, 'Not found', 'text/plain');
    }
    if (url.pathname === '/lab/click' && req.method === 'POST') {
      const type = String(params.type ?? '').toUpperCase() as EntityType;
      const entity = this.portal.get(type, Number(params.id));
      if (!entity) return this.send(res, 404, 'Not found', 'text/plain');
      await this.clickToCall(user, String(params.phone ?? ''), { type, id: entity.ID });
      res.writeHead(303, { location: `/lab/calls?user=${user}` });
      return void res.end();
    }
    if (url.pathname === '/lab/calls') return this.send(res, 200, renderCallLog(this, user), 'text/html; charset=utf-8');
    this.send(res, 404, 'Not found', 'text/plain');
  }

  private oauth(res: http.ServerResponse, p: Params): void {
    this.counters.refreshes += 1;
    const userId = this.refreshTokens.get(String(p.refresh_token));
    if (p.client_id !== this.app.clientId || p.client_secret !== this.app.clientSecret) {
      return this.send(res, 401, { error: 'invalid_client', error_description: 'Invalid client' });
    }
    if (p.grant_type !== 'refresh_token' || userId === undefined) {
      this.counters.refusedRefreshes += 1;
      return this.send(res, 400, { error: 'invalid_grant', error_description: 'Invalid grant' });
    }
    this.refreshTokens.delete(String(p.refresh_token)); // rotated: a reused refresh token is refused
    const { accessToken, refreshToken } = this.issueTokens(userId);
    this.send(res, 200, {
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

  private control(req: http.IncomingMessage, res: http.ServerResponse, path: string, p: Params): void {
    if (path === '/_lab/state') {
      return this.send(res, 200, {
        switches: { latencyMs: this.switches.latencyMs, outage: this.switches.outage, busy: this.switches.busy, operatingLimited: [...this.switches.operatingLimited] },
        counters: this.counters,
        leads: this.portal.list('LEAD'),
      });
    }
    if (path === '/_lab/switches' && req.method === 'POST') {
      if (p.latencyMs !== undefined) this.switches.latencyMs = Math.max(0, Number(p.latencyMs) || 0);
      if (p.busy !== undefined) this.switches.busy = p.busy === true || p.busy === 'true';
      if (p.outage === 'none' || p.outage === 'hang' || p.outage === 'error') {
        this.switches.outage = p.outage;
        if (p.outage === 'none') this.release();
      }
      return this.send(res, 200, { ok: true });
    }
    this.send(res, 404, { error: 'not found' });
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

  private async rest(req: http.IncomingMessage, res: http.ServerResponse, method: string, p: Params, userId?: string, secret?: string): Promise<void> {
    const started = Date.now();
    this.counters.httpRequests += 1;
    const ip = req.socket.remoteAddress ?? '';
    if (this.switches.outage === 'hang') {
      this.hung.add(res);
      return;
    }
    // A batch answers when its slowest command ran: a slow method slows every command sent with it.
    const methods = method === 'batch' ? Object.values((p.cmd ?? {}) as Record<string, string>).map((c) => String(c).split('?')[0]!) : [method];
    for (const m of methods) this.counters.received[m] = (this.counters.received[m] ?? 0) + 1;
    const slowest = Math.max(0, ...methods.map((m) => this.switches.methodLatencyMs.get(m) ?? 0));
    const latency = this.switches.latencyMs + slowest;
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    if (this.switches.outage === 'error') return this.send(res, 500, { error: 'INTERNAL_SERVER_ERROR', error_description: 'Internal server error' });
    if (this.switches.portal === 'deleted') return this.send(res, 403, { error: 'PORTAL_DELETED', error_description: 'Portal was deleted' });
    if (this.switches.portal === 'moved') {
      res.writeHead(301, { location: `${this.switches.movedTo.replace(/\/+$/, '')}${req.url ?? ''}` });
      res.end();
      return;
    }
    if (this.switches.busy || !this.bucketAllows(ip)) {
      this.counters.rejected503 += 1;
      return this.send(res, 503, { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' });
    }
    try {
      const auth = this.authenticate(p, userId, secret);
      if (method === 'batch') return this.send(res, 200, this.envelope(this.batch(p, auth), started));
      this.send(res, 200, this.envelope(this.call(method, p, auth), started));
    } catch (err) {
      if (err instanceof RestError) return this.send(res, err.status, { error: err.code, error_description: err.description });
      throw err;
    }
  }

  private batch(p: Params, auth: Auth): Params {
    const cmd = (p.cmd ?? {}) as Record<string, string>;
    const entries = Object.entries(cmd);
    if (entries.length > 50) throw new RestError(400, 'ERROR_BATCH_LENGTH_EXCEEDED', 'Max batch length exceeded');
    const result: Record<string, unknown> = {};
    const errors: Record<string, unknown> = {};
    const times: Record<string, unknown> = {};
    for (const [key, line] of entries) {
      const [m, query = ''] = String(line).split('?', 2) as [string, string?];
      if (m === 'batch') {
        errors[key] = { error: 'ERROR_BATCH_METHOD_NOT_ALLOWED', error_description: 'Method is not allowed for batch usage' };
        continue;
      }
      try {
        // $result[name][i][FIELD]: a value from an earlier command's result (b24restdocs: batch.md).
        const resolved = query.replace(/\$result((?:\[[^\]]*\])+)/g, (_all, path: string) => {
          let v: unknown = result;
          for (const k of [...path.matchAll(/\[([^\]]*)\]/g)].map((x) => x[1]!)) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
          return v === undefined || v === null ? '' : encodeURIComponent(String(v));
        });
        result[key] = this.call(m, qs.parse(resolved, { depth: 10, arrayLimit: 1000 }) as Params, auth);
        times[key] = { start: Date.now() / 1000, duration: 0 };
      } catch (err) {
        if (!(err instanceof RestError)) throw err;
        errors[key] = { error: err.code, error_description: err.description };
        if (Number(p.halt) === 1) break;
      }
    }
    // PHP serialises an empty map as [], not {}.
    const section = (o: Record<string, unknown>) => (Object.keys(o).length ? o : []);
    return { result: section(result), result_error: section(errors), result_total: [], result_next: [], result_time: section(times) };
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
    const portal = this.portal;
    switch (method) {
      case 'scope':
        // The application's permissions (conformance/bitrix24/docs/scope-response.json: an array of names).
        return [...this.scopes];
      case 'server.time':
        return new Date().toISOString();
      case 'app.info':
        appOnly(auth);
        return {
          ID: 7,
          CODE: this.app.clientId,
          VERSION: 1,
          STATUS: 'L',
          INSTALLED: true,
          PAYMENT_EXPIRED: 'N',
          DAYS: null,
          LANGUAGE_ID: 'ru',
          LICENSE: 'ru_project',
          LICENSE_TYPE: 'project',
          LICENSE_FAMILY: 'project',
        };
      case 'user.current':
        return this.userRow(auth.userId);
      case 'user.admin':
        return this.admins.has(auth.userId);
      case 'user.get': {
        const filter = (p.FILTER ?? p.filter ?? {}) as Params;
        const ids = filter.ID === undefined ? null : ([] as unknown[]).concat(filter.ID).map(Number);
        return [...portal.users.values()]
          .filter((u) => ids === null || ids.includes(u.ID))
          .filter((u) => filter.ACTIVE === undefined || String(u.ACTIVE) === String(filter.ACTIVE))
          .filter((u) => filter.UF_PHONE_INNER === undefined || u.UF_PHONE_INNER === String(filter.UF_PHONE_INNER))
          .sort((a, b) => a.ID - b.ID)
          .slice(Math.max(0, Number(p.start ?? 0)), Math.max(0, Number(p.start ?? 0)) + 50)
          .map((u) => this.userRow(u.ID));
      }
      case 'telephony.externalCall.searchCrmEntities': {
        const phone = String(p.PHONE_NUMBER ?? '').trim();
        if (!phone) throw new RestError(400, 'ERROR_CORE', 'PHONE_NUMBER is empty');
        const out: unknown[] = [];
        // As Bitrix24's own code does: the duplicate criterion with a limit of one per type — the oldest (lowest id).
        for (const type of ['CONTACT', 'LEAD', 'COMPANY'] as EntityType[]) {
          for (const id of portal
            .findByPhone(type, [phone])
            .sort((a, b) => a - b)
            .slice(0, 1)) {
            const e = portal.get(type, id)!;
            const u = portal.users.get(e.ASSIGNED_BY_ID);
            out.push({
              CRM_ENTITY_TYPE: type,
              CRM_ENTITY_ID: id,
              ASSIGNED_BY_ID: e.ASSIGNED_BY_ID,
              NAME: e.NAME || e.TITLE,
              ASSIGNED_BY: u ? { ID: u.ID, TIMEMAN_STATUS: 'OPENED', USER_PHONE_INNER: u.UF_PHONE_INNER, WORK_PHONE: '', PERSONAL_PHONE: '', PERSONAL_MOBILE: '' } : null,
            });
          }
        }
        return out;
      }
      case 'crm.duplicate.findbycomm': {
        if (!p.type) throw new RestError(400, '', 'Communication type is not defined.');
        if (p.type !== 'PHONE' && p.type !== 'EMAIL') throw new RestError(400, '', `Communication type '${String(p.type)}' is not supported in current context.`);
        const values = ([] as unknown[]).concat(p.values ?? []).map(String);
        if (values.length === 0) throw new RestError(400, '', 'Communication values is not defined.');
        const types = p.entity_type ? [String(p.entity_type) as EntityType] : (['CONTACT', 'COMPANY', 'LEAD'] as EntityType[]);
        const found: Record<string, number[]> = {};
        for (const t of types) {
          const ids = portal.findByPhone(t, values.slice(0, 20));
          if (ids.length) found[t] = ids;
          if (ids.length >= 20) break; // a type with ≥ 20 matches hides the others
        }
        return Object.keys(found).length ? found : [];
      }
      case 'crm.contact.get':
      case 'crm.lead.get':
      case 'crm.company.get': {
        const e = portal.get(method.split('.')[1]!.toUpperCase() as EntityType, Number(p.id ?? p.ID));
        if (!e) throw new RestError(400, '', 'Not found');
        return this.entityRow(e);
      }
      case 'crm.lead.add': {
        const f = (p.fields ?? {}) as Params;
        const phones = ([] as unknown[]).concat(f.PHONE ?? []).map((x) => String((x as Params).VALUE ?? ''));
        const owner = Number(f.ASSIGNED_BY_ID ?? auth.userId);
        if (!portal.users.has(owner)) throw new RestError(400, '', 'Responsible user not found.');
        const e = portal.addEntity('LEAD', {
          TITLE: String(f.TITLE ?? ''),
          ASSIGNED_BY_ID: owner,
          phones,
          SOURCE_ID: String(f.SOURCE_ID ?? ''),
          ORIGIN_ID: String(f.ORIGIN_ID ?? ''),
          ORIGINATOR_ID: String(f.ORIGINATOR_ID ?? ''),
        });
        // Bitrix24 tells the handlers bound to it (after the answer, as the portal does).
        setImmediate(() => void this.crmChanged('LEAD', e.ID, 'ADD'));
        return e.ID;
      }
      case 'event.bind':
      case 'event.unbind': {
        appOnly(auth);
        const event = String(p.event ?? '').toUpperCase();
        const handler = String(p.handler ?? '');
        const crm = ['CONTACT', 'COMPANY', 'LEAD'].flatMap((t) => ['ADD', 'UPDATE', 'DELETE'].map((k) => `ONCRM${t}${k}`));
        if (!['ONEXTERNALCALLSTART', 'ONEXTERNALCALLBACKSTART', 'ONAPPUNINSTALL', ...crm].includes(event)) throw new RestError(400, 'ERROR_EVENT_NOT_FOUND', 'Event not found');
        if (p.event_type === 'offline') {
          // No handler: the portal queues the event (administrators only, reference: event.bind's 403).
          if (method === 'event.unbind') return { count: this.offlineBindings.delete(event) ? 1 : 0 };
          if (this.offlineBindings.has(event)) throw new RestError(400, 'ERROR_CORE', 'Handler already binded');
          this.offlineBindings.add(event);
          return true;
        }
        const set = this.bindings.get(event) ?? new Set<string>();
        this.bindings.set(event, set);
        if (method === 'event.unbind') return { count: set.delete(handler) ? 1 : 0 };
        if (!/^https?:\/\//.test(handler)) throw new RestError(400, 'ERROR_HANDLER_URL_MISMATCH', 'Wrong handler URL');
        if (set.has(handler)) throw new RestError(400, 'ERROR_CORE', 'Handler already binded');
        set.add(handler);
        return true;
      }
      case 'event.get':
        appOnly(auth);
        return [
          // As event.get's documented answer (conformance/bitrix24/docs/event-get-response.json): auth_type a string.
          ...[...this.bindings].flatMap(([event, set]) => [...set].map((handler) => ({ event, handler, auth_type: '0', offline: 0 }))),
          ...[...this.offlineBindings].map((event) => ({ event, handler: '', auth_type: '0', offline: 1 })),
        ];
      case 'event.offline.get': {
        appOnly(auth);
        const limit = Math.max(1, Math.min(1000, Number(p.limit ?? 50)));
        const batch = [...this.offlineQueue.entries()].slice(0, limit);
        if (String(p.clear ?? '1') !== '0') for (const [k] of batch) this.offlineQueue.delete(k);
        return { process_id: null, events: batch.map(([, e]) => e) };
      }
      case 'telephony.externalLine.add': {
        const number = String(p.NUMBER ?? '');
        if (!number) throw new RestError(400, 'ERROR_CORE', 'NUMBER is empty');
        if (this.lines.has(number)) throw new RestError(400, 'ERROR_CORE', 'Line already exists');
        this.lines.set(number, { NUMBER: number, NAME: String(p.NAME ?? number), CRM_AUTO_CREATE: String(p.CRM_AUTO_CREATE ?? 'Y') });
        return { ID: this.lines.size };
      }
      case 'voximplant.line.get':
        return this.voximplantLines();
      case 'voximplant.line.outgoing.get':
        return this.defaultOutgoingLine;
      case 'voximplant.line.outgoing.set': {
        if (!this.mayManageNumbers) throw new RestError(403, 'ACCESS_DENIED', 'Access denied');
        // As documented: an unknown LINE_ID still answers 1 and changes nothing.
        const id = String(p.LINE_ID ?? '');
        if (id in this.voximplantLines()) this.defaultOutgoingLine = id;
        return 1;
      }
      case 'telephony.externalLine.get':
        return [...this.lines.values()];
      case 'telephony.externalLine.delete':
        return this.lines.delete(String(p.NUMBER ?? ''));
      case 'telephony.externalCall.show':
      case 'telephony.externalCall.hide':
        return this.calls.some((c) => c.CALL_ID === p.CALL_ID);
      case 'im.notify.system.add': {
        const userId = Number(p.USER_ID ?? 0);
        if (!this.portal.users.has(userId)) throw new RestError(400, 'USER_ID_EMPTY', 'Recipient user not found');
        if (!String(p.MESSAGE ?? '').trim()) throw new RestError(400, 'MESSAGE_EMPTY', 'Message can not be empty');
        this.notifications.push({ userId, message: String(p.MESSAGE), at: Date.now() });
        return this.notifications.length;
      }
      case 'telephony.externalCall.register': {
        const inner = String(p.USER_PHONE_INNER ?? '');
        const userId = Number(p.USER_ID ?? 0) || ([...this.portal.users.values()].find((u) => inner && u.ACTIVE && u.UF_PHONE_INNER === inner)?.ID ?? 0);
        const user = this.portal.users.get(userId);
        if (!userId && !inner) throw new RestError(400, 'ERROR_CORE', 'USER_ID or USER_PHONE_INNER should be set');
        if (!user || !user.ACTIVE) throw new RestError(400, 'ERROR_CORE', 'User is not found or is not active');
        const type = Number(p.TYPE);
        if (![1, 2, 3, 4, 5].includes(type)) throw new RestError(400, 'ERROR_CORE', 'Unknown TYPE');
        const phone = String(p.PHONE_NUMBER ?? '');
        if (!phone) throw new RestError(400, 'ERROR_CORE', 'Unsupported phone number format');
        const ext = String(p.EXTERNAL_CALL_ID ?? '');
        // The 30-minute reuse rule (b24restdocs, telephony-external-call-register.md): same number, type, user, line and EXTERNAL_CALL_ID → same CALL_ID.
        const line = String(p.LINE_NUMBER ?? '');
        const again =
          this.calls.find(
            (c) =>
              c.origin === 'rest' &&
              c.PHONE_NUMBER === phone &&
              c.TYPE === type &&
              c.USER_ID === userId &&
              c.EXTERNAL_CALL_ID === ext &&
              c.LINE_NUMBER === line &&
              Date.now() - c.registeredAt < 30 * 60_000,
          ) ?? (this.switches.reuseOpenCallId ? this.calls.find((c) => c.origin === 'rest' && c.PHONE_NUMBER === phone && c.USER_ID === userId && !c.finished) : undefined);
        const entityType = String(p.CRM_ENTITY_TYPE ?? '');
        const entityId = Number(p.CRM_ENTITY_ID ?? 0);
        const call = again ?? {
          CALL_ID: newCallId(),
          EXTERNAL_CALL_ID: ext,
          USER_ID: userId,
          PHONE_NUMBER: phone,
          TYPE: type,
          LINE_NUMBER: line,
          CRM_ENTITY_TYPE: entityType,
          CRM_ENTITY_ID: entityId,
          registeredAt: Date.now(),
          origin: 'rest' as const,
          finished: null,
        };
        if (!again) this.calls.push(call);
        if (!again && Number(p.CRM_CREATE) === 1 && !entityType) {
          if (this.switches.leadCreation === 'disabled') {
            return {
              CALL_ID: call.CALL_ID,
              CRM_CREATED_LEAD: null,
              CRM_CREATED_ENTITIES: [],
              CRM_ENTITY_TYPE: '',
              CRM_ENTITY_ID: null,
              LEAD_CREATION_ERROR: 'Lead creation is disabled for local users',
            };
          }
          const lead = portal.addEntity('LEAD', { TITLE: `${phone} - call`, ASSIGNED_BY_ID: userId, phones: [phone], SOURCE_ID: 'CALL', ORIGIN_ID: '', ORIGINATOR_ID: '' });
          Object.assign(call, { CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY_ID: lead.ID });
          setImmediate(() => void this.crmChanged('LEAD', lead.ID, 'ADD'));
          return { CALL_ID: call.CALL_ID, CRM_CREATED_LEAD: lead.ID, CRM_CREATED_ENTITIES: [{ ENTITY_TYPE: 'LEAD', ENTITY_ID: lead.ID }], CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY_ID: lead.ID };
        }
        return { CALL_ID: call.CALL_ID, CRM_CREATED_LEAD: null, CRM_CREATED_ENTITIES: [], CRM_ENTITY_TYPE: call.CRM_ENTITY_TYPE, CRM_ENTITY_ID: call.CRM_ENTITY_ID };
      }
      case 'telephony.externalCall.finish': {
        if (typeof p.CALL_ID !== 'string') throw new RestError(400, 'INVALID_ARGUMENT', 'CALL_ID must be a string');
        const call = this.calls.find((c) => c.CALL_ID === p.CALL_ID && !c.finished);
        if (!call) throw new RestError(400, '', 'Call is not found (call should be registered prior to finishing');
        const duration = Number(p.DURATION ?? 0);
        const finisher = Number(p.USER_ID ?? call.USER_ID);
        if (!this.portal.users.get(finisher)?.ACTIVE) throw new RestError(400, 'ERROR_CORE', 'User is not found or is not active');
        call.finished = { STATUS_CODE: String(p.STATUS_CODE ?? (duration > 0 ? '200' : '304')), DURATION: duration, FAILED_REASON: String(p.FAILED_REASON ?? ''), at: Date.now() };
        return {
          CALL_ID: call.CALL_ID,
          EXTERNAL_CALL_ID: call.EXTERNAL_CALL_ID,
          PORTAL_USER_ID: String(call.USER_ID),
          PHONE_NUMBER: call.PHONE_NUMBER,
          INCOMING: String(call.TYPE),
          CALL_DURATION: String(duration),
          CALL_FAILED_CODE: call.finished.STATUS_CODE,
          CRM_ENTITY_TYPE: call.CRM_ENTITY_TYPE,
          CRM_ENTITY_ID: String(call.CRM_ENTITY_ID),
        };
      }
      case 'crm.contact.list':
      case 'crm.company.list':
      case 'crm.lead.list': {
        // As b24restdocs describe list methods: filter with ">ID"-style prefixes, order by ID, at most 50 rows; with
        // start=-1 no total is counted (settings/performance/huge-data.md, the way to read everything).
        const filter = (p.filter ?? p.FILTER ?? {}) as Params;
        const order = (p.order ?? p.ORDER ?? {}) as Params;
        const id = (op: string) => (filter[`${op}ID`] === undefined ? null : Number(filter[`${op}ID`]));
        const [gt, ge, lt, le, eq] = [id('>'), id('>='), id('<'), id('<='), id('')];
        const rows = portal
          .list(method.split('.')[1]!.toUpperCase() as EntityType)
          .filter((e) => filter.ORIGIN_ID === undefined || e.ORIGIN_ID === String(filter.ORIGIN_ID))
          .filter((e) => filter.ORIGINATOR_ID === undefined || e.ORIGINATOR_ID === String(filter.ORIGINATOR_ID))
          .filter((e) => (gt === null || e.ID > gt) && (ge === null || e.ID >= ge) && (lt === null || e.ID < lt) && (le === null || e.ID <= le) && (eq === null || e.ID === eq));
        if (String(order.ID ?? order.id ?? 'ASC').toUpperCase() === 'DESC') rows.reverse();
        const start = Number(p.start ?? 0);
        return rows.slice(start > 0 ? start : 0, (start > 0 ? start : 0) + 50).map((e) => this.entityRow(e));
      }
      default:
        throw new RestError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!');
    }
  }

  private userRow(id: number): Params | null {
    const u = this.portal.users.get(id);
    return u ? { ID: String(u.ID), ACTIVE: u.ACTIVE, NAME: u.NAME, LAST_NAME: u.LAST_NAME, UF_PHONE_INNER: u.UF_PHONE_INNER, UF_DEPARTMENT: u.UF_DEPARTMENT, IS_ONLINE: 'N' } : null;
  }

  private entityRow(e: PortalEntity): Params {
    return {
      ID: String(e.ID),
      TITLE: e.TITLE,
      NAME: e.NAME,
      ASSIGNED_BY_ID: String(e.ASSIGNED_BY_ID),
      SOURCE_ID: e.SOURCE_ID,
      ORIGIN_ID: e.ORIGIN_ID,
      ORIGINATOR_ID: e.ORIGINATOR_ID,
      STATUS_ID: e.STATUS_ID,
      DATE_CREATE: e.DATE_CREATE,
      HAS_PHONE: e.PHONE.length ? 'Y' : 'N',
      PHONE: e.PHONE.map((x) => ({ ...x, ID: String(x.ID), TYPE_ID: 'PHONE' })),
    };
  }
}

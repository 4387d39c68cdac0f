import { bodyParser } from '@koa/bodyparser';
import cors from '@koa/cors';
import Koa from 'koa';
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { AppCredentials, WebhookCredentials, type Credentials } from './bitrix24/credentials';
import { CrmDirectory } from './bitrix24/crm-directory';
import { LeakyBucket } from './bitrix24/leaky-bucket';
import { Bitrix24Client, type ClientObserver } from './bitrix24/rest-client';
import type { Config } from './config';
import { HttpError, errorAnswers } from './http-errors';
import { SecretScrubber, createLogger, type Logger } from './log';
import { LookupService } from './lookup/lookup-service';
import { Metrics } from './metrics';
import { TtlCache } from './ttl-cache';
import { Outbox } from './outbox';
import { bearerToken, sameSecret } from './secrets';
import { PortalCheck } from './bitrix24/portal-check';
import { AuthError, Bitrix24Error, NotInstalledError } from './bitrix24/errors';
import { healthRoutes, type Check } from './routes/health-routes';
import { installRoutes } from './routes/install-routes';
import { lookupRoutes } from './routes/lookup-routes';
import { join } from 'node:path';
import { statsRoutes } from './routes/stats-routes';
import { appRoutes } from './routes/app-routes';
import { PageSessions } from './stats/page-session';
import { openCcdrSource } from './stats/open-source';
import type { CcdrSource } from './stats/ccdr-source';
import { Reports } from './stats/reports';
import { LiveFacts } from './stats/report-facts';
import { FailoverCcdrSource } from './stats/failover-source';
import { FinesseSides } from './finesse/finesse-sides';
import { PhoneIndex, type IndexedRecord } from './lookup/phone-index';
import { IndexSync } from './lookup/index-sync';
import { OfflineEventReader, type OfflineEvent, type RecordChange } from './lookup/offline-events';
import { withQueryDeadline } from './stats/table-output';
import { StatsRollup, sourceDigest } from './stats/rollup';
import { Store } from './store';
import { SqliteDb } from './store-sqlite';
import { PostgresDb } from './store-postgres';
import { ENSURE_LEAD, ensureLeadHandler } from './lookup/unknown-caller';
import { LOG_MISSED_CALL, missedCallHandler } from './missed/missed-call-log';
import { MissedCallSync } from './missed/missed-call-sync';
import { appSetup } from './bitrix24/app-setup';
import { AgentChannels } from './calls/agent-channels';
import { CALL_MARK_PREFIXES, CallJournal, FINISH_CALL, REGISTER_CALL, agentUsers, finishCallHandler, registerCallHandler } from './calls/call-log';
import { ClickToDial, FAIL_CLICK, failClickHandler } from './calls/click-to-dial';
import { agentRoutes } from './routes/agent-routes';
import { eventRoutes } from './routes/event-routes';
import { SignedTokens } from './signed-tokens';
import { InternalNumbers } from './calls/internal-numbers';
import { PortalState, PROBE_EVERY_MS } from './bitrix24/portal-state';
import { failureClass, isPermanent } from './bitrix24/failure-class';
import { TLS_POLICY } from './tls-policy';
import { AdminNotices, NOTIFY_ADMIN, noticeText, notifyAdminHandler } from './bitrix24/admin-notices';

const LEAD_TITLE = {
  ru: (phone: string) => `Входящий звонок ${phone}`,
  en: (phone: string) => `Incoming call ${phone}`,
};

/** A store that could not be opened at start (PostgreSQL out of reach) is tried again this often; the node serves meanwhile. */
const STORE_RETRY_MS = 2_000;
/** How often the store's reachability and the outbox gauges are read (every node reports the shared store's truth). */
const STORE_WATCH_MS = 5_000;
/** Bitrix24's offline queue is read this often (a change reaches the index within it, plus one read of the record). */
const OFFLINE_EVENTS_EVERY_MS = 10_000;
const INDEX_REFRESH = 'index.refresh';
/** How long finished work and its dedupe marks are kept (README Operations). */
const PRUNE_AFTER_MS = 7 * 86_400_000;
/** The portal's users' internal numbers are read again this often (a new agent's extension is guarded sooner by his session). */
const INTERNAL_NUMBERS_EVERY_MS = 3_600_000;
/** A phone index read that failed (Bitrix24 down) is resumed this soon. */
const INDEX_RETRY_MS = 60_000;
/** Before the application is installed, the index looks again this often (no request is sent meanwhile). */
const INDEX_WAIT_INSTALL_MS = 2_000;
/** One request to Finesse (a sign-in check, a SystemInfo). */
const FINESSE_TIMEOUT_MS = 5000;
/** A UTC day is rolled up two hours after it ended: UCCX writes a call's records when the call completes. */
const ROLLUP_SETTLE_MS = 2 * 3_600_000;

/** Everything one middleware instance is made of, wired from the configuration. */
export class Connector {
  readonly log: Logger;
  readonly scrubber = new SecretScrubber();
  readonly metrics = new Metrics();
  readonly store: Store;
  readonly credentials: Credentials;
  /** Reads: lookups, clicks, checks. */
  readonly client: Bitrix24Client;
  /** The outbox's writes (leads, calls, failures), batched apart from the reads. */
  readonly writer: Bitrix24Client;
  readonly directory: CrmDirectory;
  /** The contact center's own numbers (users' UF_PHONE_INNER, agents' extensions): never a customer. */
  readonly internalNumbers: InternalNumbers;
  private internalTimer: NodeJS.Timeout | null = null;
  /** Whether the portal exists where we send (deleted or moved: nothing is sent but a probe every 20 s). */
  readonly portalState: PortalState;
  private portalProbe: NodeJS.Timeout | null = null;
  /** Refusals a portal administrator must fix (lead creation off, access denied): page, /readyz, /metrics, im.notify. */
  readonly notices: AdminNotices;
  /** Our mirror of the portal's REST bucket, shared by every client (and the clicks' proofs, first in line). */
  readonly bucket: LeakyBucket;
  readonly outbox: Outbox;
  readonly lookups: LookupService;
  readonly app = new Koa();
  /** The UCCX call records, when configured. */
  readonly ccdr: CcdrSource | null;
  /** Abandoned UCCX calls → missed calls in Bitrix24, when call records are configured. */
  readonly missedCalls: MissedCallSync | null;
  /** The local copy of the CRM's phone numbers (PHONE_INDEX_SYNC_S), and what keeps it current. */
  readonly phoneIndex: PhoneIndex | null;
  readonly indexSync: IndexSync | null;
  /** PHONE_INDEX_EVENTS=offline: Bitrix24's queue of CRM changes, read every OFFLINE_EVENTS_EVERY_MS. */
  readonly offlineEvents: OfflineEventReader | null;
  private indexTimer: NodeJS.Timeout | null = null;
  /** Finesse side A/B: where agents' sign-ins are checked (null: click-to-dial and call logging are off). */
  readonly finesse: FinesseSides | null;
  /** Settled days of the reports' facts, beside the store (stats/rollup.ts). */
  readonly statsRollup: StatsRollup | null;
  /** The agents' live gadget sessions (click-to-dial commands); with a shared store, also those on the other nodes. */
  readonly channels: AgentChannels;
  private readonly agentTokens: SignedTokens;
  private readonly pageSessions: PageSessions;
  /** The store opened, the installation and signing keys read: until then lookups fail open and sessions wait. */
  private opened: Promise<void> | null = null;
  private openTimer: NodeJS.Timeout | null = null;
  readonly journal: CallJournal;
  readonly clicks: ClickToDial;
  private server: http.Server | null = null;
  private probe: { at: number; check: Check } | null = null;
  private stopping: Promise<void> | null = null;
  private pruner: NodeJS.Timeout | null = null;
  private staleClicks: NodeJS.Timeout | null = null;
  private storeWatch: NodeJS.Timeout | null = null;
  /** Names of CRM records shown in the agents' gadgets: a few minutes, so a renamed record shows soon. */
  private readonly recordNames = new TtlCache<string>(5 * 60_000, 10_000);
  /** Work that goes on after a request was answered (event handling). */
  private readonly background = new Set<Promise<unknown>>();

  constructor(
    readonly config: Config,
    logDestination?: DestinationStream,
  ) {
    this.scrubber.add(...config.secrets);
    this.log = createLogger(config.logLevel, this.scrubber, logDestination);
    // DATA_DIR holds the node's local files whatever the store: the phone index, the statistics rollup.
    mkdirSync(config.dataDir, { recursive: true });
    this.store = new Store(
      config.databaseUrl
        ? new PostgresDb(config.databaseUrl, (err) => this.log.warn({ err: err.message }, 'PostgreSQL connection lost; it is opened again on the next statement'))
        : new SqliteDb(config.dataDir),
    );
    this.channels = new AgentChannels((n) => this.metrics.agentSessions.set(n), this.store.kind === 'postgres' ? this.store : null);
    this.agentTokens = new SignedTokens(this.store, 'agent.sessionKey', 60 * 60 * 1000);
    this.pageSessions = new PageSessions(this.store);
    const b24 = config.bitrix24;
    this.credentials = b24.mode === 'webhook' ? new WebhookCredentials(b24.webhookUrl) : new AppCredentials(this.store, b24, this.scrubber, this.log, config.requestTimeoutMs);
    // Two clients on one bucket: reads (lookups, clicks) and the outbox's writes go in separate batches, because
    // Bitrix24 answers a batch when its slowest command ran — a slow crm.lead.add must never hold up a lookup.
    this.portalState = new PortalState(this.log);
    this.metrics.portalState = () => this.portalState.condition.state;
    const bucket = new LeakyBucket(config.rate.perSecond, config.rate.burst);
    this.bucket = bucket;
    this.notices = new AdminNotices(this.store, () => this.outbox, { lang: config.uiLanguage, log: this.log });
    this.metrics.adminNotices = () => this.notices.open;
    const notices = this.notices;
    const observer: ClientObserver = {
      ...this.metrics.bitrix24,
      command: (method, outcome) => {
        this.metrics.bitrix24.command?.(method, outcome);
        if (outcome === 'ok') notices.succeeded(method);
      },
      failed: (method, err) => {
        if (failureClass(err) !== 'access' || !(err instanceof Bitrix24Error)) return;
        void notices.raise('access_denied', method, `${err.code} ${err.description}`.trim()).catch((e: Error) => this.log.warn({ err: e.message }, 'could not record an access refusal'));
      },
    };
    const clientOptions = { requestTimeoutMs: config.requestTimeoutMs, log: this.log, observer, portal: this.portalState };
    this.client = new Bitrix24Client(this.credentials, bucket, clientOptions);
    this.writer = new Bitrix24Client(this.credentials, bucket, clientOptions);
    this.directory = new CrmDirectory(this.client);
    const writes = new CrmDirectory(this.writer);
    const missedHandler = missedCallHandler({
      client: this.writer,
      directory: writes,
      outbox: () => this.outbox,
      store: this.store,
      unprocessedUserId: config.unprocessedUserId,
      rules: config.phone,
      leadTitle: LEAD_TITLE[config.uiLanguage],
      shortSeconds: config.stats.missedShortS,
    });
    // The dialled string may carry our outside-line prefix: strip it when reading numbers back.
    const callRules = { ...config.phone, outsidePrefixes: [...new Set([...config.phone.outsidePrefixes, config.dial.outsidePrefix].filter(Boolean))] };
    this.outbox = new Outbox(
      this.store,
      {
        [ENSURE_LEAD]: ensureLeadHandler({ directory: writes, store: this.store, unprocessedUserId: config.unprocessedUserId, settleMs: config.writeSettleMs }),
        [LOG_MISSED_CALL]: missedHandler,
        [REGISTER_CALL]: registerCallHandler({
          client: this.writer,
          store: this.store,
          directory: writes,
          userFor: agentUsers(writes, config.agentExtensions),
          rules: callRules,
          line: config.line,
          notices,
        }),
        [NOTIFY_ADMIN]: notifyAdminHandler({ client: this.writer }),
        [FINISH_CALL]: finishCallHandler({ client: this.writer, outbox: () => this.outbox, store: this.store }),
        [FAIL_CLICK]: failClickHandler({ client: this.writer, store: this.store }),
        // A CRM change read from Bitrix24's offline queue: the record is read into the index (and the other nodes').
        [INDEX_REFRESH]: async ({ payload }) => {
          const c = payload as RecordChange;
          if (this.indexSync) await this.crmChanged(c.type, c.id, c.deleted);
          return { read: `${c.type}:${c.id}` };
        },
      },
      this.log,
      // A refusal no retry changes (a wrong request) parks the job with its reason instead of a backoff loop.
      { onChange: () => this.updateOutboxGauges(), permanent: (err) => isPermanent(failureClass(err)) },
    );
    this.journal = new CallJournal(this.store, this.outbox, config.finishSettleMs);
    this.clicks = new ClickToDial({
      store: this.store,
      outbox: this.outbox,
      channels: this.channels,
      directory: this.directory,
      userExtension: async (id) => (await this.lookups.user(id))?.extension ?? null,
      agentExtensions: config.agentExtensions,
      rules: { phone: config.phone, outsidePrefix: config.dial.outsidePrefix, internationalPrefix: config.dial.internationalPrefix },
      whenReady: config.dial.whenReady,
      reasonCodeId: config.dial.notReadyReasonId,
      resultTimeoutMs: config.dial.resultTimeoutMs,
      lang: config.uiLanguage,
      log: this.log,
      client: this.client,
      unprocessedUserId: config.unprocessedUserId,
      lineNumber: config.line.number,
      onOutcome: (outcome, seconds) => {
        this.metrics.clicks.inc({ outcome });
        if (outcome !== 'repeated') this.metrics.clickSeconds.observe(seconds);
      },
    });
    // The local phone index: its own client on the shared bucket (its batches never hold up a lookup's).
    this.phoneIndex = config.phoneIndexSyncMs > 0 ? new PhoneIndex(join(config.dataDir, 'phone-index.sqlite'), config.phone) : null;
    this.indexSync = this.phoneIndex ? new IndexSync(new Bitrix24Client(this.credentials, bucket, clientOptions), this.phoneIndex, { bucket, burst: config.rate.burst }) : null;
    // Another node took a CRM event (Bitrix24 sends each to one address) and read the record: this node's index takes it.
    if (this.phoneIndex && this.store.kind === 'postgres') {
      const index = this.phoneIndex;
      this.store.subscribe('crm.changed', (data) => {
        const d = data as { type: 'CONTACT' | 'COMPANY' | 'LEAD'; id: number; record: IndexedRecord | null };
        try {
          index.upsert(d.record, d.type, d.id);
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'phone index update from another node failed; the next full read brings it');
        }
      });
    }
    this.offlineEvents =
      this.indexSync && config.phoneIndexEvents === 'offline' && config.bitrix24.mode === 'app'
        ? new OfflineEventReader({
            fetch: (params) => this.client.call<{ events?: OfflineEvent[] } | null>('event.offline.get', params),
            queue: async (change, e) => void (await this.outbox.enqueue(`index-refresh:${change.type}:${change.id}:${e.ID}`, INDEX_REFRESH, change)),
            unnamed: () => this.readIndexSoon(),
            log: this.log,
          })
        : null;
    this.metrics.phoneIndexState = () => this.indexSummary();
    this.metrics.heldClicks = () => this.clicks.heldCount;
    this.metrics.bucketLevel = () => Math.round(this.bucket.current() * 100) / 100;
    this.internalNumbers = new InternalNumbers(Object.values(config.agentExtensions), () => this.directory.internalNumbers(AbortSignal.timeout(60_000)));
    this.lookups = new LookupService(this.directory, this.outbox, {
      index: this.phoneIndex,
      isInternal: (p) => this.internalNumbers.has(p.digits, ...p.variants),
      deadlineMs: config.lookupDeadlineMs,
      cacheTtlMs: config.lookupCacheTtlMs,
      userCacheTtlMs: config.userCacheTtlMs,
      leadTitle: LEAD_TITLE[config.uiLanguage],
      log: this.log,
      onAnswer: (a, s, cached) => this.metrics.lookup(a, s, cached),
    });
    this.ccdr = config.stats.source ? openCcdrSource(config.stats.source, config.stats.queryTimeoutMs) : null;
    // UCCX writes a call's records when it ends: read them a minute later.
    this.missedCalls = this.ccdr
      ? new MissedCallSync(this.ccdr, this.outbox, this.store, { pollMs: config.stats.missedPollMs, lagMs: 60_000, lookbackMs: config.stats.missedLookbackMs, log: this.log })
      : null;
    this.finesse = config.finesseUrls.length ? new FinesseSides(config.finesseUrls, FINESSE_TIMEOUT_MS) : null;
    const src = config.stats.source;
    this.statsRollup =
      this.ccdr && src && config.stats.rollupRefreshMs > 0
        ? new StatsRollup(join(config.dataDir, 'stats-rollup.sqlite'), new LiveFacts(this.ccdr), {
            sourceId: sourceDigest(src.kind === 'sqlite' ? `sqlite:${src.path}` : `odbc:${src.connections[0]}`),
            settleMs: ROLLUP_SETTLE_MS,
            verifyDays: 7,
            keepDays: 400,
            daysPerRefresh: 31,
          })
        : null;
    this.buildApp();
  }

  private buildApp(): void {
    const app = this.app;
    // Behind N proxies the client is the address the Nth one appended (the rightmost N entries of X-Forwarded-For);
    // anything to their left the client wrote itself.
    app.proxy = this.config.proxyHops > 0;
    app.maxIpsCount = this.config.proxyHops;
    app.silent = true;
    app.use(errorAnswers(this.log));
    // The gadget runs on the Finesse origin and calls /api/* directly: allow exactly the configured origins.
    const origins = new Set(this.config.finesseOrigins);
    const corsForFinesse = cors({
      origin: (ctx) => (origins.has(ctx.get('origin')) ? ctx.get('origin') : ''),
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['Authorization', 'Content-Type'],
      maxAge: 600,
    });
    app.use(async (ctx, next) => (ctx.path.startsWith('/api/') ? corsForFinesse(ctx, next) : next()));
    app.use(async (ctx, next) => {
      if (ctx.querystring.length > 2048) throw new HttpError(414, 'query string longer than 2048 characters');
      await next();
    });
    app.use(
      bodyParser({
        enableTypes: ['form', 'json'],
        formLimit: '64kb',
        jsonLimit: '64kb',
        extendTypes: { form: ['application/x-www-form-urlencoded'] },
        onError: (err) => {
          const status = (err as Error & { status?: number }).status === 413 ? 413 : 400;
          throw new HttpError(status, `body: ${err.message}`);
        },
      }),
    );
    const reports = this.ccdr ? new Reports(this.statsRollup ?? this.ccdr, this.portalUrl()) : null;
    const agentTokens = this.agentTokens;
    const routers = [
      healthRoutes(
        {
          // Not ready without it: a balancer sends lookups to a node that has it (this one still answers, failing open).
          store: () => this.storeCheck(),
          bitrix24: () => this.bitrix24Check(),
          clickToDial: () => {
            // Reported, not fatal: lookups and statistics work without it.
            return this.finesse
              ? { ok: true, gadgetsOnline: this.channels.count(), finesse: this.finesse.status() }
              : { ok: true, off: 'FINESSE_URL is not set: click-to-dial and call logging are off' };
          },
          outbox: async () => {
            const s = await this.outbox.stats();
            // A backlog is reported, not fatal: lookups still answer and the outbox keeps trying.
            return { ok: true, depth: s.depth, oldestPendingSeconds: Math.round(s.oldestPendingMs / 1000), parked: s.parked };
          },
          // Reported, not fatal: what only a portal administrator can fix (bitrix24/admin-notices.ts).
          adminNotices: async () => ({
            ok: true,
            open: (await this.notices.list()).map((n) => ({ kind: n.kind, method: n.method, detail: n.detail, since: new Date(n.firstAt).toISOString(), lastSeen: new Date(n.lastAt).toISOString() })),
          }),
          // Reported, not fatal: agents' extensions are guarded from their sessions even before the portal's list is read.
          internalNumbers: () => {
            const n = this.internalNumbers;
            return { ok: true, numbers: n.size, readAt: n.readAt && new Date(n.readAt).toISOString(), lastError: n.lastError };
          },
          // Reported, not fatal: without a complete index lookups ask Bitrix24 as before.
          phoneIndex: () => {
            if (!this.phoneIndex) return { ok: true, off: 'PHONE_INDEX_SYNC_S=0' };
            const { users, building, lastError } = this.phoneIndex.state();
            const o = this.offlineEvents;
            const events = o
              ? { mode: 'offline', read: o.counts.read, withoutRecordId: o.counts.unnamed, lastReadAt: o.lastReadAt && new Date(o.lastReadAt).toISOString(), lastError: o.lastError }
              : { mode: this.config.bitrix24.mode === 'app' ? 'handler' : 'none (webhook mode: changes are taken at lookups and full reads)' };
            return { ok: true, ...this.indexSummary()!, users, building, lastError, events };
          },
          // Reported, not fatal: lookups and screen-pops do not need the call records.
          callRecords: async () => {
            if (!this.ccdr) return { ok: true, off: 'CCDR_ODBC_CONNECTION / CCDR_SQLITE_PATH not set' };
            const nodes = this.ccdr instanceof FailoverCcdrSource ? this.ccdr.status() : {};
            try {
              await withQueryDeadline(this.ccdr.ping(), 3000);
              return { ok: true, reachable: true, ...nodes };
            } catch (err) {
              return { ok: true, reachable: false, error: (err as Error).message.slice(0, 300), ...nodes };
            }
          },
          // Reported, not fatal: without the rollup the reports read the call records directly.
          statsRollup: () => (this.statsRollup ? { ok: true, ...this.statsRollup.status() } : { ok: true, off: 'no call records, or STATS_ROLLUP_REFRESH_S=0' }),
        },
        this.metrics,
        (ctx) => {
          const given = bearerToken(ctx);
          return Boolean(given && [this.config.uccxToken, this.config.stats.token].some((t) => t !== null && sameSecret(given, t)));
        },
        async () => {
          // What a balancer asks: can this node answer lookups? It can without the shared store (from the index or
          // Bitrix24, new callers' leads held until the store is back), so the store is reported here, not judged.
          if (!this.server || this.stopping) return { ok: false, reason: 'the node is stopping' };
          return { ok: true, store: await this.storeCheck() };
        },
      ),
      lookupRoutes(this.lookups, { token: this.config.uccxToken, allowedIps: this.config.uccxAllowedIps, rules: this.config.phone, isAgentSession: (t) => agentTokens.verify(t) !== null }),
      statsRoutes({
        token: this.config.stats.token,
        timeZone: this.config.stats.timeZone,
        queryTimeoutMs: this.config.stats.queryTimeoutMs,
        reports,
      }),
    ];
    routers.push(
      appRoutes({
        portal: () => {
          const inst = this.credentials instanceof AppCredentials ? this.credentials.installation() : null;
          return inst ? { restBase: inst.clientEndpoint, memberId: inst.memberId, applicationToken: inst.applicationToken } : null;
        },
        allowed: this.config.stats.allowed,
        sessions: this.pageSessions,
        notices: async (lang) => (await this.notices.list()).map((n) => noticeText(n, lang)),
        reports,
        timeZone: this.config.stats.timeZone,
        queryTimeoutMs: this.config.stats.queryTimeoutMs,
        log: this.log,
      }),
    );
    routers.push(
      agentRoutes({
        finesse: this.finesse,
        popped: {
          list: async (agentId) => ((await this.store.getKv<Array<{ id: string; at: number }>>(`popped.${agentId}`)) ?? []).map((p) => p.id),
          // The last 50 per agent: a failover reloads the desktop within minutes, and a call pops once.
          add: (agentId, id) =>
            this.store.exclusive(`popped.${agentId}`, async () => {
              const key = `popped.${agentId}`;
              const kept = ((await this.store.getKv<Array<{ id: string; at: number }>>(key)) ?? []).filter((p) => p.id !== id);
              await this.store.setKv(key, [...kept, { id, at: Date.now() }].slice(-50));
            }),
        },
        tokens: agentTokens,
        channels: this.channels,
        journal: this.journal,
        internal: {
          has: (n) => this.internalNumbers.has(n),
          noteAgent: (ext) => this.internalNumbers.noteAgent(ext),
          refused: () => this.metrics.internalRefused.inc({ where: 'report' }),
        },
        log: this.log,
        lockoutThreshold: this.config.finesseLockoutThreshold,
        recordName: async (type, id) => {
          const key = `${type}:${id}`;
          const known = this.recordNames.get(key);
          if (known !== undefined) return known;
          const name = await this.directory.recordName(type, id, AbortSignal.timeout(this.config.requestTimeoutMs));
          this.recordNames.set(key, name);
          return name;
        },
      }),
    );
    if (this.credentials instanceof AppCredentials && this.config.bitrix24.mode === 'app') {
      const creds = this.credentials;
      const app = { portalUrl: this.config.bitrix24.portalUrl, clientId: this.config.bitrix24.clientId };
      const check = new PortalCheck(`${app.portalUrl}/rest/`, this.config.requestTimeoutMs, this.bucket, (answer) => this.metrics.tokenChecks.inc({ answer }), this.portalState);
      routers.push(
        installRoutes(creds, app, check, this.log, {
          publicUrl: () => this.config.publicUrl ?? this.url,
          line: this.config.line.number,
          afterInstall: appSetup(this.client, { number: this.config.line.number, name: 'Cisco Finesse' }, { indexEvents: this.phoneIndex ? this.config.phoneIndexEvents : null }),
        }),
        eventRoutes({
          installation: () => creds.installation(),
          clicks: this.clicks,
          uninstall: () => creds.forget(),
          log: this.log,
          track: (w) => this.track(w),
          crmChanged: this.indexSync ? (type, id, deleted) => this.crmChanged(type, id, deleted) : null,
          tokenUser: (t, expiresAt) => check.tokenUser(t, expiresAt),
          proveBy: (t, expiresAt, deadline) => check.proveBy(t, expiresAt, deadline),
          proofWindowMs: this.config.dial.proofWindowMs,
          stillInstalled: () =>
            this.client.call('app.info').then(
              () => true,
              (err: unknown) => !(err instanceof AuthError || err instanceof NotInstalledError), // unsure: keep our tokens
            ),
        }),
      );
    }
    for (const r of routers) app.use(r.routes()).use(r.allowedMethods());
  }

  /** The portal's base URL for links to CRM records. */
  private portalUrl(): string | null {
    const b = this.config.bitrix24;
    if (b.mode === 'webhook') return new URL(b.webhookUrl).origin;
    return b.portalUrl ?? null;
  }

  /** Bitrix24 readiness: credentials present and a cheap call answered within the last 30 s. */
  private async bitrix24Check(): Promise<Check> {
    const mode = this.credentials.mode;
    if (this.credentials instanceof AppCredentials && !this.credentials.installation()) {
      return { ok: false, mode, reason: 'the Bitrix24 application is not installed: install it from the portal (README)' };
    }
    const portal = this.portalState.condition;
    if (portal.state !== 'ok') {
      // Known without a request: the state says what is wrong and what to do (portal-state.ts).
      return { ok: false, mode, portal: portal.state, since: new Date(portal.since).toISOString(), reason: portal.reason, ...(portal.location !== undefined ? { location: portal.location } : {}) };
    }
    if (this.probe && Date.now() - this.probe.at < 30_000) return this.probe.check;
    let check: Check;
    try {
      await this.directory.serverTime(AbortSignal.timeout(2000));
      check = { ok: true, mode };
    } catch (err) {
      check = { ok: false, mode, reason: (err as Error).message };
    }
    this.probe = { at: Date.now(), check };
    return check;
  }

  /** The store answers, and what the node needed from it at start has been read. */
  private async storeCheck(): Promise<Check> {
    const where = this.store.db.describe();
    const node = this.store.kind === 'postgres' ? { node: this.store.nodeId } : {};
    try {
      await this.store.ping();
    } catch (err) {
      return { ok: false, ...where, ...node, reason: (err as Error).message.slice(0, 300) };
    }
    if (!this.agentTokens.loaded) return { ok: false, ...where, ...node, reason: 'the store is reachable again; the node is reading its state from it' };
    return { ok: true, ...where, ...node };
  }

  /**
   * A CRM record changed: this node's index reads it again and hands what it read to the other nodes' indexes (each
   * keeps its own; one read per change, whatever the number of nodes — the portal's rate limit is shared).
   */
  private async crmChanged(type: 'CONTACT' | 'COMPANY' | 'LEAD', id: number, deleted: boolean): Promise<void> {
    const record = await this.indexSync!.refreshRecord(type, id, deleted);
    if (this.store.kind === 'postgres') {
      await this.store
        .publish('crm.changed', { type, id, record })
        .catch((err: Error) => this.log.warn({ err: err.message }, 'could not tell the other nodes about a CRM change; their indexes catch up at the next full read'));
    }
  }

  private updateOutboxGauges(): Promise<void> {
    return this.outbox
      .stats()
      .then((s) => {
        this.metrics.outboxDepth.set(s.depth);
        this.metrics.outboxParked.set(s.parked);
        this.metrics.outboxOldest.set(s.oldestPendingMs / 1000);
      })
      .catch(() => undefined); // the store is out of reach: /readyz says so
  }

  private storeUp: boolean | null = null;

  /**
   * Every STORE_WATCH_MS: whether the store answers (gauge `store_up`, a log line when that changes) and the outbox
   * gauges as the shared store has them — with two nodes, items the other node delivered leave this node's figures too.
   */
  private async watchStore(): Promise<void> {
    const check = await this.storeCheck();
    this.metrics.storeUp.set(check.ok ? 1 : 0);
    if (this.storeUp !== null && this.storeUp !== check.ok) {
      if (check.ok) this.log.info({ store: this.store.db.describe() }, 'the store answers again');
      else
        this.log.error({ store: this.store.db.describe(), reason: check.reason }, "the store does not answer: lookups go on (new callers' leads are held here until it is back); reports answer 503");
    }
    this.storeUp = check.ok;
    if (check.ok) await this.updateOutboxGauges();
  }

  async listen(port = this.config.port, host = this.config.host): Promise<AddressInfo> {
    const handler = this.app.callback();
    const tls = this.config.tls;
    this.server = tls ? https.createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key), ...TLS_POLICY }, handler) : http.createServer(handler);
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    await this.open();
    this.pruner = setInterval(() => void this.prune().catch((err: Error) => this.log.warn({ err: err.message }, 'store housekeeping failed; tried again in an hour')), 3_600_000).unref();
    // Several nodes: a click a killed node took and never settled is failed visibly within a minute of its timeout.
    if (this.store.kind === 'postgres') this.staleClicks = setInterval(() => void this.failStaleClicks().catch(() => undefined), 60_000).unref();
    this.outbox.start();
    this.missedCalls?.start();
    this.statsRollup?.start(this.config.stats.rollupRefreshMs, this.log);
    this.startIndexSync();
    this.readInternalNumbers(0);
    // A deleted or moved portal is asked again now and then, with one request (portal-state.ts).
    this.portalProbe = setInterval(() => {
      if (this.portalState.condition.state !== 'ok') void this.directory.serverTime(AbortSignal.timeout(this.config.requestTimeoutMs), true).catch(() => undefined);
    }, PROBE_EVERY_MS).unref();
    this.offlineEvents?.start(OFFLINE_EVENTS_EVERY_MS);
    void this.watchStore();
    this.storeWatch = setInterval(() => void this.watchStore().catch(() => undefined), STORE_WATCH_MS).unref();
    const address = this.server.address() as AddressInfo;
    this.log.info({ port: address.port, tls: Boolean(tls), mode: this.credentials.mode }, 'middleware listening');
    return address;
  }

  /**
   * Opens the store and reads what the node needs from it. PostgreSQL out of reach at start does not keep the node
   * from serving: lookups fail open, /readyz says why, and the opening is tried again every STORE_RETRY_MS.
   */
  open(): Promise<void> {
    this.opened ??= this.openOnce().catch((err: Error) => {
      this.log.error({ err: err.message, store: this.store.db.describe() }, 'the store cannot be opened; the node answers lookups to the queue until it can');
      this.openTimer = setTimeout(() => {
        this.opened = null;
        if (this.server) void this.open();
      }, STORE_RETRY_MS);
      this.openTimer.unref();
    });
    return this.opened;
  }

  /** The store's tables, the installation and the signing keys: what a command-line tool needs too (no clean-up). */
  async prepare(): Promise<void> {
    await this.store.db.migrate();
    if (this.credentials instanceof AppCredentials) await this.credentials.load();
    await this.agentTokens.load();
    await this.pageSessions.load();
  }

  private async openOnce(): Promise<void> {
    await this.prepare();
    const freed = await this.outbox.freeDeadLeases();
    if (freed) this.log.warn({ items: freed }, 'outbox items a killed process was trying are tried again');
    if (this.store.kind === 'sqlite') {
      // One node: every unsettled click is the last run's.
      const interrupted = await this.clicks.recover(0);
      if (interrupted) this.log.warn({ clicks: interrupted }, 'clicks interrupted by the last stop were failed visibly in Bitrix24');
    } else await this.failStaleClicks();
    await this.prune();
    this.log.info({ store: this.store.db.describe() }, 'store opened');
  }

  /**
   * Dedupe marks of clicks and calls, and finished outbox items (with them their keys): a week covers any
   * redelivery, late report or repeated lookup job; older ones only grow the store.
   */
  private async prune(): Promise<void> {
    for (const p of [...CALL_MARK_PREFIXES, 'popped.']) await this.store.pruneKv(p, PRUNE_AFTER_MS);
    await this.outbox.pruneDone(PRUNE_AFTER_MS);
    const closed = await this.clicks.closeUnreported();
    if (closed) this.log.warn({ clicks: closed }, 'dialled clicks no gadget reported were closed in Bitrix24');
  }

  /** Several nodes: only clicks older than any click can wait for its gadget are failed (another node may be waiting). */
  private async failStaleClicks(): Promise<void> {
    const stale = await this.clicks.recover(this.config.dial.resultTimeoutMs + 60_000);
    if (stale) this.log.warn({ clicks: stale }, 'clicks a stopped node took but never settled were failed visibly in Bitrix24');
  }

  private indexSummary(): { complete: boolean; ageSeconds: number | null; records: number; numbers: number } | null {
    if (!this.phoneIndex) return null;
    const st = this.phoneIndex.state();
    return { complete: st.gen > 0, ageSeconds: st.builtAt ? Math.round((Date.now() - Date.parse(st.builtAt)) / 1000) : null, records: st.records, numbers: st.numbers };
  }

  private indexTick: (() => void) | null = null;
  private indexRunning = false;

  /** A full read now (when one is not under way): an offline event named no record, so only a full read finds it. */
  private readIndexSoon(): void {
    if (!this.indexTick || this.indexRunning || !this.server) return;
    if (this.indexTimer) clearTimeout(this.indexTimer);
    this.indexTimer = setTimeout(this.indexTick, 0).unref();
  }

  /** A full read of the CRM's numbers at start (or the rest of an interrupted one), then every PHONE_INDEX_SYNC_S. */
  private startIndexSync(): void {
    const sync = this.indexSync;
    if (!sync) return;
    const tick = () => {
      const t0 = Date.now();
      this.indexRunning = true;
      sync
        .run()
        .then((st) => {
          this.log.info({ records: st.records, numbers: st.numbers, users: st.users, requests: sync.requests, seconds: Math.round((Date.now() - t0) / 1000) }, 'phone index rebuilt from Bitrix24');
          return this.config.phoneIndexSyncMs;
        })
        .catch((err: Error) => {
          // Not installed yet (a first start): read as soon as the install is done, without a request meanwhile.
          if (err instanceof NotInstalledError) return INDEX_WAIT_INSTALL_MS;
          this.log.warn({ err: err.message }, 'phone index sync failed; lookups use the last complete index (or Bitrix24); it resumes within a minute');
          // Bitrix24 back after an outage: the index catches up within a minute, not at the next full period.
          return Math.min(INDEX_RETRY_MS, this.config.phoneIndexSyncMs);
        })
        .then((wait) => {
          this.indexRunning = false;
          if (this.server) this.indexTimer = setTimeout(tick, wait).unref();
        });
    };
    this.indexTick = tick;
    this.indexTimer = setTimeout(tick, 0).unref();
  }

  /**
   * The portal's users' internal numbers, read at start (as soon as the application is installed) and every
   * INTERNAL_NUMBERS_EVERY_MS: one user.get page per 50 users.
   */
  private readInternalNumbers(afterMs: number): void {
    this.internalTimer = setTimeout(() => {
      this.internalNumbers
        .refresh()
        .then((n) => {
          this.log.info({ numbers: n }, "Bitrix24 users' internal numbers read (never looked up or logged as customers)");
          return INTERNAL_NUMBERS_EVERY_MS;
        })
        .catch((err: Error) => {
          if (err instanceof NotInstalledError) return INDEX_WAIT_INSTALL_MS;
          this.log.warn({ err: err.message }, "Bitrix24 users' internal numbers not read; the last ones read (and agents' extensions) still guard; tried again in a minute");
          return INDEX_RETRY_MS;
        })
        .then((wait) => {
          if (this.server) this.readInternalNumbers(wait);
        });
    }, afterMs);
    this.internalTimer.unref();
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null;
    if (!a) throw new Error('not listening');
    const host = a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.address;
    return `${this.config.tls ? 'https' : 'http'}://${host}:${a.port}`;
  }

  private track(work: Promise<unknown>): void {
    const p = work.finally(() => this.background.delete(p));
    this.background.add(p);
  }

  /**
   * Resolves once all work already started has ended: event handling after its answer, and every outbox item due
   * now tried. What a test waits on before it says "nothing more happened", instead of sleeping.
   */
  async settled(): Promise<void> {
    for (;;) {
      await Promise.allSettled([...this.background]);
      await this.outbox.settle();
      if (this.background.size === 0 && (await this.outbox.idle())) return;
      await new Promise((r) => setImmediate(r)); // let I/O in before looking again
    }
  }

  /** Graceful stop: refuse new connections, let requests in flight finish, give the outbox one last try. */
  stop(graceMs = this.config.shutdownGraceMs): Promise<void> {
    this.stopping ??= this.shutdown(graceMs);
    return this.stopping;
  }

  private async shutdown(graceMs: number): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) {
      this.channels.close(); // the gadgets' streams never go idle by themselves
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      server.closeAllConnections();
    }
    this.missedCalls?.stop();
    this.offlineEvents?.stop();
    if (this.openTimer) clearTimeout(this.openTimer);
    if (this.indexTimer) clearTimeout(this.indexTimer);
    if (this.internalTimer) clearTimeout(this.internalTimer);
    if (this.portalProbe) clearInterval(this.portalProbe);
    if (this.pruner) clearInterval(this.pruner);
    if (this.staleClicks) clearInterval(this.staleClicks);
    if (this.storeWatch) clearInterval(this.storeWatch);
    await this.outbox.flush(Math.min(graceMs, 5000));
    this.client.close();
    this.writer.close();
    await this.statsRollup?.close().catch(() => undefined);
    await this.ccdr?.close().catch(() => undefined);
    this.phoneIndex?.close();
    await this.store.close();
    this.log.info('middleware stopped');
    await new Promise<void>((r) => this.log.flush(() => r()));
  }
}

import { buildInfo } from './build-info';
import { SCHEMA_VERSION } from './store-migrations';
import type Koa from 'koa';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { AgentChannels } from './calls/agent-channels';
import { ClickToDial } from './calls/click-to-dial';
import { InternalNumbers } from './calls/internal-numbers';
import type { Config } from './config';
import { Core, LEAD_TITLE } from './core';
import { FinesseSides } from './finesse/finesse-sides';
import { buildApp } from './http-app';
import { INDEX_REFRESH, IndexKeeper } from './lookup/index-keeper';
import { LookupService } from './lookup/lookup-service';
import { openRollup, type StatsRollup } from './stats/rollup';
import moment from 'moment-timezone';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import type { CcdrSource } from './stats/ccdr-source';
import { LiveReader } from './stats/live-reader';
import { openLiveNodes } from './stats/open-source';
import { periodToUtc } from './stats/period';
import { Reports } from './stats/reports';
import { TLS_POLICY } from './tls-policy';
import { Upkeep } from './upkeep';

/** One request to Finesse (a sign-in check, a SystemInfo). */
const FINESSE_TIMEOUT_MS = 5000;

/**
 * One middleware node, composed from its configuration: the core (store, clients, outbox), the features on it
 * (lookups, the phone index, click-to-dial, the agents' channels, the statistics rollup), the HTTP app
 * (http-app.ts) and what runs by itself (upkeep.ts); then listen and stop.
 */
export class Connector extends Core {
  readonly app: Koa;
  /** The agents' live gadget sessions (click-to-dial commands); with a shared store, also those on the other nodes. */
  readonly channels: AgentChannels;
  readonly clicks: ClickToDial;
  /** The contact center's own numbers (users' UF_PHONE_INNER, agents' extensions): never a customer. */
  readonly internalNumbers: InternalNumbers;
  readonly lookups: LookupService;
  /** The local copy of the CRM's phone numbers (PHONE_INDEX_SYNC_S), and what keeps it current. */
  readonly keeper: IndexKeeper | null;
  /** Finesse side A/B: where agents' sign-ins are checked (null: click-to-dial and call logging are off). */
  readonly finesse: FinesseSides | null;
  /** Settled days of the reports' facts, beside the store (stats/rollup.ts). */
  readonly statsRollup: StatsRollup | null;
  /** UCCX's real-time snapshot, read once per interval for every viewer (null: no call records, or LIVE_INTERVAL_S=0). */
  readonly live: LiveReader | null;
  private readonly upkeep: Upkeep;
  private server: http.Server | null = null;
  private stopping: Promise<void> | null = null;
  /** Work that goes on after a request was answered (event handling). */
  private readonly background = new Set<Promise<unknown>>();

  constructor(config: Config, logDestination?: DestinationStream) {
    super(config, logDestination);
    const { metrics, store } = this;
    this.channels = new AgentChannels((n) => metrics.agentSessions.set(n), store.shared ? store : null);
    this.internalNumbers = new InternalNumbers(Object.values(config.agentExtensions), () => this.directory.internalNumbers(AbortSignal.timeout(60_000)));
    this.keeper = config.phoneIndexSyncMs > 0 ? new IndexKeeper(this) : null;
    if (this.keeper) this.handlers[INDEX_REFRESH] = this.keeper.refreshHandler;
    metrics.phoneIndexState = () => this.keeper?.summary() ?? null;
    this.lookups = new LookupService(this.directory, this.outbox, {
      index: this.keeper?.index ?? null,
      isInternal: (p) => this.internalNumbers.has(p.digits, ...p.variants),
      deadlineMs: config.lookupDeadlineMs,
      cacheTtlMs: config.lookupCacheTtlMs,
      userCacheTtlMs: config.userCacheTtlMs,
      leadTitle: LEAD_TITLE[config.uiLanguage],
      log: this.log,
      onAnswer: (a, s, cached) => metrics.lookup(a, s, cached),
    });
    this.clicks = new ClickToDial({
      store,
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
      onOutcome: (outcome, seconds, click) => {
        metrics.clicks.inc({ outcome });
        if (outcome !== 'repeated') metrics.clickSeconds.observe(seconds);
        this.trace.record({
          kind: 'click',
          outcome,
          b24CallId: click.callId,
          number: click.phoneInternational || click.phone,
          data: { userId: click.userId, seconds: Math.round(seconds * 1000) / 1000 },
        });
      },
    });
    metrics.heldClicks = () => this.clicks.heldCount;
    this.finesse = config.finesseUrls.length ? new FinesseSides(config.finesseUrls, FINESSE_TIMEOUT_MS) : null;
    const sides = this.finesse;
    if (sides) metrics.finesseSide = () => sides.usingIndex;
    this.statsRollup = openRollup(config, this.ccdr);
    this.live = this.ccdr && config.stats.liveIntervalS > 0 ? openLiveReader(this.ccdr, this.statsRollup, config, this.log, metrics) : null;
    const live = this.live;
    if (live) metrics.liveSnapshot = () => live.current();
    const serving = () => this.server !== null && this.stopping === null;
    this.upkeep = new Upkeep(this, { clicks: this.clicks, internalNumbers: this.internalNumbers, listening: serving });
    this.app = buildApp({
      core: this,
      lookups: this.lookups,
      clicks: this.clicks,
      channels: this.channels,
      internalNumbers: this.internalNumbers,
      keeper: this.keeper,
      finesse: this.finesse,
      statsRollup: this.statsRollup,
      live: this.live,
      serving,
      url: () => this.url,
      track: (w) => this.track(w),
    });
  }

  /** The local phone index, its full reads and Bitrix24's offline queue (null: PHONE_INDEX_SYNC_S=0). */
  get phoneIndex() {
    return this.keeper?.index ?? null;
  }
  get indexSync() {
    return this.keeper?.sync ?? null;
  }
  get offlineEvents() {
    return this.keeper?.offlineEvents ?? null;
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
    try {
      await this.upkeep.start();
    } catch (err) {
      await new Promise<void>((r) => this.server!.close(() => r()));
      this.server = null;
      throw err;
    }
    this.outbox.start();
    this.missedCalls?.start();
    this.statsRollup?.start(this.config.stats.rollupRefreshMs, this.log);
    this.live?.start();
    this.keeper?.start();
    const address = this.server.address() as AddressInfo;
    this.log.info({ port: address.port, tls: Boolean(tls), mode: this.credentials.mode, ...buildInfo(), schema: SCHEMA_VERSION }, 'middleware listening');
    return address;
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
    this.upkeep.stop();
    this.keeper?.stop();
    this.live?.stop();
    await this.closeCore(graceMs);
    await this.statsRollup?.close().catch(() => undefined);
    await this.live?.close();
    this.keeper?.close();
    this.log.info('middleware stopped');
    await new Promise<void>((r) => this.log.flush(() => r()));
  }
}

/** Today's service level comes from the same reports as the page's CSQ table (over the rollup when there is one). */
function openLiveReader(ccdr: CcdrSource, rollup: StatsRollup | null, config: Config, log: Logger, metrics: Metrics): LiveReader {
  const reports = new Reports(rollup ?? ccdr, null);
  const zone = config.stats.timeZone;
  return new LiveReader({
    // UCCX's wallboard user when configured (it may read only the real-time tables), else the call records' user.
    ...openLiveNodes(config.stats, ccdr),
    intervalSeconds: config.stats.liveIntervalS,
    log,
    serviceLevel: async () => {
      const today = moment.tz(zone).format('YYYY-MM-DD');
      const rows = await reports.csqActivity(periodToUtc(today, today, zone));
      return new Map(rows.map((r) => [r.csq, r.serviceLevelPercent]));
    },
    onSnapshot: (s) => metrics.liveReads.inc({ outcome: s.state === 'unreachable' ? 'failed' : 'ok' }),
    onStatement: () => metrics.liveStatements.inc(),
  });
}

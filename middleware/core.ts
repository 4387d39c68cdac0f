import { CallTrace, outboxStep } from './trace/call-trace';
import { mkdirSync } from 'node:fs';
import type { DestinationStream } from 'pino';
import { AdminNotices, NOTIFY_ADMIN, notifyAdminHandler } from './bitrix24/admin-notices';
import { AppCredentials, WebhookCredentials, type Credentials } from './bitrix24/credentials';
import { CrmDirectory } from './bitrix24/crm-directory';
import { Bitrix24Error } from './bitrix24/errors';
import { failureClass, isPermanent } from './bitrix24/failure-class';
import { LeakyBucket } from './bitrix24/leaky-bucket';
import { PortalState } from './bitrix24/portal-state';
import { Bitrix24Client, type ClientObserver, type ClientOptions } from './bitrix24/rest-client';
import { CallJournal, FINISH_CALL, REGISTER_CALL, agentUsers, finishCallHandler, registerCallHandler } from './calls/call-log';
import { FAIL_CLICK, failClickHandler } from './calls/click-to-dial';
import type { Config } from './config';
import { SecretScrubber, createLogger, type Logger } from './log';
import { ENSURE_LEAD, ensureLeadHandler } from './lookup/unknown-caller';
import { Metrics } from './metrics';
import { LOG_MISSED_CALL, missedCallHandler } from './missed/missed-call-log';
import { MissedCallSync } from './missed/missed-call-sync';
import { Outbox, type Handler } from './outbox';
import { SignedTokens } from './signed-tokens';
import type { CcdrSource } from './stats/ccdr-source';
import { openCcdrSource } from './stats/open-source';
import { PageSessions } from './stats/page-session';
import { Store } from './store';
import { PostgresDb } from './store-postgres';
import { SqliteDb } from './store-sqlite';

export const LEAD_TITLE = {
  ru: (phone: string) => `Входящий звонок ${phone}`,
  en: (phone: string) => `Incoming call ${phone}`,
};

/**
 * What every entry point starts, without HTTP: the configuration, the log, the store, the Bitrix24 clients on one
 * bucket, the outbox with every write it delivers, the call records. The middleware (connector.ts) builds its
 * features and its HTTP app on it; the commands (scripts/: backfill, index-sync) start it alone.
 */
export class Core {
  readonly log: Logger;
  readonly scrubber = new SecretScrubber();
  readonly metrics = new Metrics();
  readonly store: Store;
  readonly credentials: Credentials;
  /** Whether the portal exists where we send (deleted or moved: nothing is sent but a probe every 20 s). */
  readonly portalState: PortalState;
  /** Our mirror of the portal's REST bucket, shared by every client (and the clicks' proofs, first in line). */
  readonly bucket: LeakyBucket;
  /** Refusals a portal administrator must fix (lead creation off, access denied): page, /readyz, /metrics, im.notify. */
  readonly notices: AdminNotices;
  /** Reads: lookups, clicks, checks. */
  readonly client: Bitrix24Client;
  /** The outbox's writes (leads, calls, failures), batched apart from the reads. */
  readonly writer: Bitrix24Client;
  readonly directory: CrmDirectory;
  readonly outbox: Outbox;
  /** Each call's steps, logged and kept (`trace`, the trace page). */
  readonly trace: CallTrace;
  /** The gadgets' reports → register and finish jobs. */
  readonly journal: CallJournal;
  /** The UCCX call records, when configured. */
  readonly ccdr: CcdrSource | null;
  /** Abandoned UCCX calls → missed calls in Bitrix24, when call records are configured. */
  readonly missedCalls: MissedCallSync | null;
  readonly agentTokens: SignedTokens;
  readonly pageSessions: PageSessions;
  /** The outbox's job kinds; a feature adds its own before the outbox starts. */
  protected readonly handlers: Record<string, Handler>;
  /** How every Bitrix24 client of this node is made (one bucket, one portal state, one observer). */
  readonly clientOptions: ClientOptions;

  /**
   * `reportsRefusals: false` for read-only commands (doctor): a refusal they meet is printed to the operator, not
   * recorded as a notice nor told to the administrator.
   */
  constructor(
    readonly config: Config,
    logDestination?: DestinationStream,
    private readonly opts: { reportsRefusals?: boolean } = {},
  ) {
    this.scrubber.add(...config.secrets);
    this.log = createLogger(config.logLevel, this.scrubber, logDestination);
    // DATA_DIR holds the node's local files whatever the store: the phone index, the statistics rollup.
    mkdirSync(config.dataDir, { recursive: true });
    this.store = new Store(
      config.databaseUrl ? new PostgresDb(config.databaseUrl, (err) => this.log.warn({ err }, 'PostgreSQL connection lost; it is opened again on the next statement')) : new SqliteDb(config.dataDir),
    );
    this.agentTokens = new SignedTokens(this.store, 'agent.sessionKey', 60 * 60 * 1000);
    this.pageSessions = new PageSessions(this.store);
    const b24 = config.bitrix24;
    this.credentials = b24.mode === 'webhook' ? new WebhookCredentials(b24.webhookUrl) : new AppCredentials(this.store, b24, this.scrubber, this.log, config.requestTimeoutMs);
    this.portalState = new PortalState(this.log);
    this.metrics.portalState = () => this.portalState.condition.state;
    this.bucket = new LeakyBucket(config.rate.perSecond, config.rate.burst);
    this.metrics.bucketLevel = () => Math.round(this.bucket.current() * 100) / 100;
    this.notices = new AdminNotices(this.store, () => this.outbox, { lang: config.uiLanguage, log: this.log });
    this.metrics.adminNotices = () => this.notices.open;
    this.clientOptions = { requestTimeoutMs: config.requestTimeoutMs, log: this.log, observer: this.observer(), portal: this.portalState };
    // Two clients on one bucket: reads (lookups, clicks) and the outbox's writes go in separate batches, because
    // Bitrix24 answers a batch when its slowest command ran — a slow crm.lead.add must never hold up a lookup.
    this.client = new Bitrix24Client(this.credentials, this.bucket, this.clientOptions);
    this.writer = new Bitrix24Client(this.credentials, this.bucket, this.clientOptions);
    this.directory = new CrmDirectory(this.client);
    this.handlers = this.writeHandlers(new CrmDirectory(this.writer));
    this.trace = new CallTrace(this.store, this.log, {
      keepMs: config.trace.keepMs,
      numbers: config.trace.numbers,
      rules: config.phone,
      onStep: (step, outcome) => this.metrics.callSteps.inc({ step, outcome }),
    });
    this.outbox = new Outbox(this.store, this.handlers, this.log, {
      onChange: () => void this.updateOutboxGauges(),
      onSettled: (item, outcome) => {
        const step = outboxStep(item, outcome);
        if (step) this.trace.record(step);
      },
      // A refusal no retry changes (a wrong request) parks the job with its reason instead of a backoff loop.
      permanent: (err) => isPermanent(failureClass(err)),
    });
    this.journal = new CallJournal(this.store, this.outbox, config.finishSettleMs);
    this.ccdr = config.stats.source ? openCcdrSource(config.stats.source, config.stats.queryTimeoutMs) : null;
    // UCCX writes a call's records when it ends: read them a minute later.
    this.missedCalls = this.ccdr
      ? new MissedCallSync(this.ccdr, this.outbox, this.store, { pollMs: config.stats.missedPollMs, lagMs: 60_000, lookbackMs: config.stats.missedLookbackMs, log: this.log })
      : null;
  }

  /** The metrics of every REST call, and what an administrator must hear about (access refused, then allowed). */
  private observer(): ClientObserver {
    const { metrics, notices } = this;
    return {
      ...metrics.bitrix24,
      command: (method, outcome) => {
        metrics.bitrix24.command?.(method, outcome);
        if (outcome === 'ok') notices.succeeded(method);
      },
      failed: (method, err) => {
        if (this.opts.reportsRefusals === false || failureClass(err) !== 'access' || !(err instanceof Bitrix24Error)) return;
        void notices.raise('access_denied', method, `${err.code} ${err.description}`.trim()).catch((e: unknown) => this.log.warn({ err: e }, 'could not record an access refusal'));
      },
    };
  }

  /** Every write the outbox delivers to Bitrix24: leads, calls, missed calls, failed clicks, notices. */
  private writeHandlers(writes: CrmDirectory): Record<string, Handler> {
    const { config, store, writer } = this;
    // The dialled string may carry our outside-line prefix: strip it when reading numbers back.
    const callRules = { ...config.phone, outsidePrefixes: [...new Set([...config.phone.outsidePrefixes, config.dial.outsidePrefix].filter(Boolean))] };
    return {
      [ENSURE_LEAD]: ensureLeadHandler({ directory: writes, store, unprocessedUserId: config.unprocessedUserId, settleMs: config.writeSettleMs }),
      [LOG_MISSED_CALL]: missedCallHandler({
        client: writer,
        directory: writes,
        outbox: () => this.outbox,
        store,
        unprocessedUserId: config.unprocessedUserId,
        rules: config.phone,
        leadTitle: LEAD_TITLE[config.uiLanguage],
        shortSeconds: config.stats.missedShortS,
      }),
      [REGISTER_CALL]: registerCallHandler({
        client: writer,
        store,
        directory: writes,
        userFor: agentUsers(writes, config.agentExtensions),
        rules: callRules,
        line: config.line,
        notices: this.notices,
      }),
      [FINISH_CALL]: finishCallHandler({ client: writer, outbox: () => this.outbox, store }),
      [FAIL_CLICK]: failClickHandler({ client: writer, store }),
      [NOTIFY_ADMIN]: notifyAdminHandler({ client: writer }),
    };
  }

  /** The store's tables, the installation and the signing keys: what every entry point reads first. */
  async prepare(): Promise<void> {
    await this.store.db.migrate();
    if (this.credentials instanceof AppCredentials) await this.credentials.load();
    await this.agentTokens.load();
    await this.pageSessions.load();
  }

  updateOutboxGauges(): Promise<void> {
    return this.outbox
      .stats()
      .then((s) => {
        this.metrics.outboxDepth.set(s.depth);
        this.metrics.outboxParked.set(s.parked);
        this.metrics.outboxOldest.set(s.oldestPendingMs / 1000);
      })
      .catch(() => undefined); // the store is out of reach: /readyz says so
  }

  /** A command's end: what the core holds is closed (the outbox gets one last try within `graceMs`), the log flushed. */
  async close(graceMs = 0): Promise<void> {
    await this.closeCore(graceMs);
    await new Promise<void>((r) => this.log.flush(() => r()));
  }

  /** Ends what the core holds (the outbox gets one last try within `graceMs`). */
  protected async closeCore(graceMs: number): Promise<void> {
    this.missedCalls?.stop();
    await this.outbox.flush(Math.min(graceMs, 5000));
    this.client.close();
    this.writer.close();
    await this.ccdr?.close().catch(() => undefined);
    await this.trace.flush(); // the last steps of the last calls
    await this.store.close();
  }
}

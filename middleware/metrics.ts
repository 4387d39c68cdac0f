import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ClientObserver } from './bitrix24/rest-client';
import type { LookupAnswer } from './lookup/lookup-answer';
import { buildInfo } from './build-info';
import { SCHEMA_VERSION } from './store-migrations';
import type { LiveSnapshot } from './stats/live-snapshot';

/** Prometheus metrics of one connector instance (own registry, so tests can run several). */
export class Metrics {
  readonly registry = new Registry();
  private readonly lookupSeconds = new Histogram({
    name: 'lookup_duration_seconds',
    help: 'Server time of caller lookups',
    labelNames: ['status', 'cached'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5],
    registers: [this.registry],
  });
  private readonly b24Calls = new Counter({
    name: 'bitrix24_calls_total',
    help: 'Bitrix24 REST method calls by method and outcome (ok or the error code)',
    labelNames: ['method', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly b24Requests = new Histogram({
    name: 'bitrix24_http_requests_seconds',
    help: 'HTTP requests to Bitrix24 (a batch carries several calls) by kind and outcome',
    labelNames: ['kind', 'outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /** What runs, for dashboards and alerts on a version (value always 1; the labels carry it). */
  readonly buildInfo = new Gauge({ name: 'build_info', help: 'The running version and commit (always 1)', labelNames: ['version', 'commit', 'schema'] as const, registers: [this.registry] });
  readonly storeUp = new Gauge({ name: 'store_up', help: '1 when the store (SQLite, or the shared PostgreSQL) answers', registers: [this.registry] });
  readonly outboxDepth = new Gauge({ name: 'outbox_depth', help: 'Outbox items waiting for delivery', registers: [this.registry] });
  readonly outboxOldest = new Gauge({
    name: 'outbox_oldest_pending_seconds',
    help: 'Age of the oldest undelivered outbox item',
    registers: [this.registry],
  });

  readonly clicks = new Counter({
    name: 'click_to_dial_total',
    help: 'Clicks on numbers in Bitrix24 by outcome: dialled, repeated (duplicate delivery) or the failure code',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly clickSeconds = new Histogram({
    name: 'click_to_dial_seconds',
    help: "From the event's arrival to the gadget's MAKE_CALL outcome",
    buckets: [0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly tokenChecks = new Counter({
    name: 'bitrix24_token_checks_total',
    help: "Questions to the portal whose a click's token is (user.current), by answer: user, refused, unknown (busy or failing: the click is held and asked again)",
    labelNames: ['answer'] as const,
    registers: [this.registry],
  });
  /** A gauge read from `read()` when /metrics is scraped (the value lives elsewhere: no copy to keep current). */
  private readGauge(name: string, help: string, read: () => number): Gauge {
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }
  /** A gauge with one series per label value, 1 where `on(value)` holds when /metrics is scraped. */
  private flagGauge(name: string, help: string, label: string, values: readonly string[], on: (value: string) => boolean): Gauge {
    return new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        for (const v of values) this.set({ [label]: v }, on(v) ? 1 : 0);
      },
    });
  }
  /** This node's estimate of the portal's REST bucket as its own requests filled it. */
  bucketLevel: () => number = () => 0;
  readonly restBucket = this.readGauge(
    'bitrix24_rest_bucket_level',
    "This node's requests in the portal's REST bucket (it drains at B24_RATE_PER_SEC; above a fifth of B24_RATE_BURST requests are paced)",
    () => this.bucketLevel(),
  );
  /** Whether the portal exists where requests go: ok, gone (deleted), moved (a redirect). */
  portalState: () => 'ok' | 'gone' | 'moved' = () => 'ok';
  readonly portal = this.flagGauge(
    'bitrix24_portal_state',
    '1 for the state the Bitrix24 portal is in: ok, gone (PORTAL_DELETED: nothing is sent but a probe every 20 s), moved (it redirects: configure its new address)',
    'state',
    ['ok', 'gone', 'moved'],
    (s) => this.portalState() === s,
  );
  readonly outboxParked = new Gauge({ name: 'outbox_parked', help: 'Outbox items Bitrix24 refused for good (kept a week with their reason; never retried)', registers: [this.registry] });
  /** Clicks held while the portal cannot confirm them. */
  heldClicks: () => number = () => 0;
  readonly clicksHeld = this.readGauge('click_to_dial_held', 'Clicks held now because Bitrix24 cannot confirm them yet (busy portal)', () => this.heldClicks());
  readonly agentSessions = new Gauge({ name: 'agent_sessions', help: 'Gadget sessions listening for dial commands', registers: [this.registry] });

  /** The local phone index, read when /metrics is scraped (null: no index). */
  phoneIndexState: (() => { complete: boolean; records: number; numbers: number; ageSeconds: number | null } | null) | null = null;
  private readonly indexGauge = (name: string, help: string, pick: (s: { complete: boolean; records: number; numbers: number; ageSeconds: number | null }) => number) => {
    const read = () => this.phoneIndexState?.();
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const s = read();
        if (s) this.set(pick(s));
      },
    });
  };
  readonly indexComplete = this.indexGauge('phone_index_complete', '1 when a complete phone index answers lookups', (s) => (s.complete ? 1 : 0));
  readonly indexRecords = this.indexGauge('phone_index_records', 'CRM records in the phone index', (s) => s.records);
  readonly indexNumbers = this.indexGauge('phone_index_numbers', 'Phone numbers in the phone index', (s) => s.numbers);
  readonly indexAge = this.indexGauge(
    'phone_index_age_seconds',
    'Since the last complete read of the CRM (the most a change can lag behind, short of a lookup confirming it)',
    (s) => s.ageSeconds ?? -1,
  );

  /** Each step of each call (trace/call-trace.ts), by its outcome's first word: what alerts on calls count. */
  readonly callSteps = new Counter({
    name: 'call_steps_total',
    help: "Steps of calls by step (lookup, pop, report, register, finish, lead, missed, click, gadget) and outcome's first word (found, opened, blocked, ok, retry, refused…)",
    labelNames: ['step', 'outcome'] as const,
    registers: [this.registry],
  });
  /** The Finesse side the middleware uses (index in FINESSE_URL: 0 side A, 1 side B; -1: no Finesse configured). */
  finesseSide: () => number = () => -1;
  readonly finesseSideGauge = this.readGauge('finesse_side_in_use', 'The Finesse side the middleware talks to: 0 side A, 1 side B (FINESSE_URL order); -1 none configured', () => this.finesseSide());

  /** The live view's last snapshot (stats/live-reader.ts); null: no live view. Read when /metrics is scraped. */
  liveSnapshot: () => LiveSnapshot | null = () => null;
  readonly liveReads = new Counter({
    name: 'uccx_live_reads_total',
    help: "Reads of UCCX's real-time snapshot (RtCSQsSummary + RtICDStatistics) by outcome: ok or failed",
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly liveStatements = new Counter({
    name: 'uccx_live_statements_total',
    help: 'Statements the live queues sent to db_cra (two a read, whatever the number of viewers)',
    registers: [this.registry],
  });
  readonly liveAge = this.readGauge(
    'uccx_live_snapshot_age_seconds',
    'How old the real-time snapshot UCCX last wrote is, in seconds (-1: none written or no live view)',
    () => this.liveSnapshot()?.ageSeconds ?? -1,
  );
  readonly liveUp = this.readGauge('uccx_live_snapshot_up', '1 when the real-time snapshot is current (UCCX writes it and the middleware reads it)', () =>
    this.liveSnapshot()?.state === 'live' ? 1 : 0,
  );
  private liveGauge(name: string, help: string, labels: readonly string[], fill: (g: Gauge, s: LiveSnapshot) => void): Gauge {
    const snapshot = () => this.liveSnapshot();
    return new Gauge({
      name,
      help,
      labelNames: labels,
      registers: [this.registry],
      collect() {
        this.reset(); // a CSQ deleted in UCCX disappears from the series
        const s = snapshot();
        if (s && s.state !== 'starting' && s.state !== 'disabled') fill(this, s);
      },
    });
  }
  readonly csqWaiting = this.liveGauge('uccx_csq_calls_waiting', 'Calls waiting in the CSQ now (RtCSQsSummary.callswaiting)', ['csq'], (g, s) =>
    s.queues.forEach((q) => g.set({ csq: q.name }, q.waiting)),
  );
  readonly csqOldest = this.liveGauge('uccx_csq_oldest_wait_seconds', 'How long the oldest waiting call has waited (0: none waits)', ['csq'], (g, s) =>
    s.queues.forEach((q) => g.set({ csq: q.name }, q.oldestWaitSeconds ?? 0)),
  );
  readonly csqAgents = this.liveGauge('uccx_csq_agents', "The CSQ's agents by state: logged_in, ready, not_ready, talking, reserved, working", ['csq', 'state'], (g, s) =>
    s.queues.forEach((q) => {
      const a = q.agents;
      for (const [state, n] of Object.entries({ logged_in: a.loggedIn, ready: a.ready, not_ready: a.notReady, talking: a.talking, reserved: a.reserved, working: a.working }))
        g.set({ csq: q.name, state }, n);
    }),
  );
  readonly csqCalls = this.liveGauge('uccx_csq_calls', "The CSQ's calls since the snapshot's collection start (UCCX's day): total, handled, abandoned, dequeued", ['csq', 'outcome'], (g, s) =>
    s.queues.forEach((q) => {
      const c = q.calls;
      for (const [outcome, n] of Object.entries({ total: c.total, handled: c.handled, abandoned: c.abandoned, dequeued: c.dequeued ?? 0 })) g.set({ csq: q.name, outcome }, n);
    }),
  );
  readonly csqServiceLevel = this.liveGauge('uccx_csq_service_level_percent', "Today's service level of the CSQ from the call records (the CSQ report's definition)", ['csq'], (g, s) =>
    s.queues.forEach((q) => q.serviceLevelPercent !== null && g.set({ csq: q.name }, q.serviceLevelPercent)),
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const build = buildInfo();
    this.buildInfo.set({ version: build.version, commit: build.commit, schema: String(SCHEMA_VERSION) }, 1);
  }

  /** The administrator-fixable refusals open on this node (bitrix24/admin-notices.ts). */
  adminNotices: () => ReadonlySet<string> = () => new Set();
  readonly adminNoticeGauge = this.flagGauge(
    'bitrix24_admin_notices',
    'Refusals only a portal administrator can fix, 1 while open: lead_creation_disabled (LEAD_CREATION_ERROR in a register answer), access_denied (a method refused to our credentials)',
    'kind',
    ['lead_creation_disabled', 'access_denied'],
    (kind) => this.adminNotices().has(kind),
  );
  readonly bitrix24: ClientObserver = {
    request: (kind, outcome, seconds) => this.b24Requests.observe({ kind, outcome }, seconds),
    command: (method, outcome) => this.b24Calls.inc({ method, outcome }),
  };

  lookup(a: LookupAnswer, seconds: number, cached: boolean): void {
    this.lookupSeconds.observe({ status: a.status, cached: String(cached) }, seconds);
    if (a.status === 'internal') this.internalRefused.inc({ where: 'lookup' });
  }

  readonly internalRefused = new Counter({
    name: 'internal_numbers_refused_total',
    help: "Lookups (answered to the queue, no lead) and call reports (refused) for a number that is the contact center's own: a Bitrix24 user's internal number or an agent's extension",
    labelNames: ['where'] as const,
    registers: [this.registry],
  });
}

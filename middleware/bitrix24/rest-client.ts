import { noteRestCall } from './rest-usage';
import qs from 'qs';
import type { Logger } from '../log';
import type { Credentials, Endpoint } from './credentials';
import { AuthError, Bitrix24Error, DeadlineError, OperatingLimitError, RateLimitError, TransportError, errorFromBody } from './errors';
import type { LeakyBucket } from './leaky-bucket';
import { PortalMovedError } from './failure-class';
import type { PortalState } from './portal-state';

/**
 * A thin typed Bitrix24 REST client: every call has a deadline, requests respect the portal's leaky bucket, and
 * calls made close together are sent as one `batch` (≤ 50 commands) with each result or `result_error` handed back
 * to its caller.
 *
 * Why not @bitrix24/b24jssdk (npm @bitrix24/b24jssdk 2.2.0, read): it pins requests to https:// (the lab and on-premise
 * portals behind plain HTTP fail with EPROTO), retries network errors of writes by default (a lead or a call could
 * be created twice; our outbox owns retries of writes), limits without batching concurrent callers together (the
 * thing that keeps a burst of calls under 2 req/s), and brings axios, luxon and 23 MB for the few methods we use.
 */
export type Params = Record<string, unknown>;

export interface CallOptions {
  /** Aborting rejects the call with DeadlineError; a request already sent may still complete at Bitrix24. */
  signal?: AbortSignal;
  /** The portal-state probe: the one request that goes out while the portal is gone or moved. */
  probe?: boolean;
}

interface Pending {
  method: string;
  params: Params;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  settled: boolean;
}

export interface ClientObserver {
  request?(kind: 'single' | 'batch', outcome: string, seconds: number): void;
  command?(method: string, outcome: string): void;
  /** A command's error, as its caller gets it. */
  failed?(method: string, err: Error): void;
}

export interface ClientOptions {
  requestTimeoutMs: number;
  log: Logger;
  /** Shared by every client of the portal: a deleted or moved portal stops them all at once. */
  portal?: PortalState;
  observer?: ClientObserver;
  maxBatch?: number;
}

const outcomeOf = (err: unknown) => (err instanceof Bitrix24Error ? err.code || err.name : 'error');

export class Bitrix24Client {
  private queue: Pending[] = [];
  private scheduled = false;
  /** The kind of the last request sent: the other kind goes next when both wait. */
  private lastLane: 'urgent' | 'background' = 'background';
  private timer: NodeJS.Timeout | null = null;
  private readonly maxBatch: number;
  /** Counters for benchmarks and tests: HTTP requests sent, commands carried. */
  readonly counters = { requests: 0, commands: 0, batches: 0 };

  constructor(
    private readonly creds: Credentials,
    private readonly bucket: LeakyBucket,
    private readonly opts: ClientOptions,
  ) {
    this.maxBatch = Math.min(50, opts.maxBatch ?? 50);
  }

  get mode(): 'webhook' | 'app' {
    return this.creds.mode;
  }

  /**
   * Methods the portal blocked with 429 OPERATION_TIME_LIMIT, until when (ms): only that method waits, until the
   * `operating_reset_at` Bitrix24 gave with its last answers (settings/performance/limits.md); others go on.
   */
  private readonly paused = new Map<string, number>();
  /** The latest `time.operating_reset_at` (ms) of each method's answers. */
  private readonly resetAt = new Map<string, number>();

  private noteOperating(group: Pending[], body: { time?: unknown; result?: unknown }): void {
    const at = (t: unknown) => {
      const v = Number((t as { operating_reset_at?: unknown } | null)?.operating_reset_at);
      return Number.isFinite(v) && v > 0 ? v * 1000 : null;
    };
    if (group.length === 1) {
      const v = at(body.time);
      if (v) this.resetAt.set(group[0]!.method, v);
      return;
    }
    const times = ((body.result as { result_time?: unknown } | null)?.result_time ?? {}) as Record<string, unknown>;
    group.forEach((p, i) => {
      const v = at(times[`c${i}`]);
      if (v) this.resetAt.set(p.method, v);
    });
  }

  private pause(method: string): void {
    const known = this.resetAt.get(method);
    // The basket resets within 10 minutes; without a time from the portal, look again in a minute.
    const until = known && known > Date.now() ? known : Date.now() + 60_000;
    this.paused.set(method, until);
    this.opts.log.warn({ method, until: new Date(until).toISOString() }, 'Bitrix24 blocked this method for its operating time; it waits, others go on');
  }

  call<T = unknown>(method: string, params: Params = {}, options: CallOptions = {}): Promise<T> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new DeadlineError('DEADLINE', 'deadline passed before the call', null, method));
    const blocked = options.probe ? null : this.opts.portal?.blocked();
    if (blocked) return Promise.reject(blocked);
    const until = this.paused.get(method);
    if (until !== undefined) {
      if (until > Date.now()) return Promise.reject(new OperatingLimitError('OPERATION_TIME_LIMIT', `${method} is paused until ${new Date(until).toISOString()} (operating time limit)`, 429, method));
      this.paused.delete(method);
    }
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { method, params, resolve: resolve as (v: unknown) => void, reject, signal, settled: false };
      if (signal) {
        p.onAbort = () => {
          this.queue = this.queue.filter((q) => q !== p);
          this.settle(p, new DeadlineError('DEADLINE', 'deadline passed', null, method));
        };
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      noteRestCall();
      this.queue.push(p);
      this.schedule();
    });
  }

  /** Rejects everything still queued (shutdown). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const p of this.queue.splice(0)) this.settle(p, new TransportError('', 'client closed', null, p.method));
  }

  private settle(p: Pending, outcome: Error | { value: unknown }): void {
    if (p.settled) return;
    p.settled = true;
    if (p.signal && p.onAbort) p.signal.removeEventListener('abort', p.onAbort);
    if (outcome instanceof Error) {
      this.opts.observer?.command?.(p.method, outcomeOf(outcome));
      this.opts.observer?.failed?.(p.method, outcome);
      p.reject(outcome);
    } else {
      this.opts.observer?.command?.(p.method, 'ok');
      p.resolve(outcome.value);
    }
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    const delay = this.bucket.delay();
    const run = () => {
      this.scheduled = false;
      this.timer = null;
      this.flush();
    };
    if (delay === 0) setImmediate(run);
    else this.timer = setTimeout(run, delay);
  }

  /**
   * One request's commands. Bitrix24 runs a batch's commands one after another and answers when the last is done, so
   * a call with a deadline (a lookup's search, a click's check) never shares a batch with one without (a lead, a call
   * record, a background read): a portal that takes seconds to add a lead must not hold a caller's routing. Both kinds
   * take turns when both wait, so neither waits more than one request for the other.
   */
  private flush(): void {
    if (this.queue.length === 0) return;
    if (this.bucket.delay() > 0) return this.schedule();
    const urgent = this.queue.filter((p) => p.signal);
    const background = this.queue.filter((p) => !p.signal);
    const lane = urgent.length && (this.lastLane === 'background' || !background.length) ? urgent : background.length ? background : urgent;
    const group = lane.slice(0, this.maxBatch);
    this.lastLane = group[0]!.signal ? 'urgent' : 'background';
    const taken = new Set(group);
    this.queue = this.queue.filter((p) => !taken.has(p));
    void this.send(group);
    this.schedule();
  }

  private async send(group: Pending[]): Promise<void> {
    const kind = group.length === 1 ? 'single' : 'batch';
    const started = performance.now();
    try {
      const body = await this.request(group);
      this.opts.observer?.request?.(kind, 'ok', (performance.now() - started) / 1000);
      if (group.length === 1) return this.settle(group[0]!, { value: body.result });
      const r = (body.result ?? {}) as { result?: unknown; result_error?: unknown };
      const results = (r.result && typeof r.result === 'object' ? r.result : {}) as Record<string, unknown>;
      const errors = (r.result_error && typeof r.result_error === 'object' ? r.result_error : {}) as Record<string, unknown>;
      group.forEach((p, i) => {
        const key = `c${i}`;
        if (!(key in errors)) return this.settle(p, { value: results[key] ?? null });
        const e = errorFromBody(errors[key], null, p.method);
        if (e instanceof OperatingLimitError) this.pause(p.method); // in a batch the limit comes per command
        this.settle(p, e);
      });
    } catch (err) {
      this.opts.observer?.request?.(kind, outcomeOf(err), (performance.now() - started) / 1000);
      const e = err instanceof Error ? err : new Error(String(err));
      for (const p of group) this.settle(p, e);
      if (!(err instanceof Bitrix24Error)) this.opts.log.error({ err: e }, 'Bitrix24 client failure');
    }
  }

  /** One HTTP request for the group; on `expired_token` refreshes and sends once more. */
  private async request(group: Pending[], refreshed = false): Promise<{ result?: unknown }> {
    const endpoint = this.creds.endpoint();
    this.bucket.take();
    this.counters.requests += 1;
    this.counters.commands += group.length;
    if (group.length > 1) this.counters.batches += 1;
    try {
      const body = await this.post(endpoint, group);
      this.bucket.accepted();
      this.opts.portal?.answered();
      this.noteOperating(group, body);
      return body;
    } catch (err) {
      this.opts.portal?.failed(err);
      if (err instanceof RateLimitError) this.bucket.refused();
      if (err instanceof OperatingLimitError) for (const p of group) this.pause(p.method);
      if (err instanceof AuthError && err.expired && !refreshed && this.creds.refresh) {
        await this.creds.refresh(endpoint);
        this.counters.commands -= group.length; // the same commands, counted once
        return this.request(group, true);
      }
      throw err;
    }
  }

  private async post(endpoint: Endpoint, group: Pending[]): Promise<{ result?: unknown }> {
    const single = group.length === 1 ? group[0]! : null;
    const method = single ? single.method : 'batch';
    const payload: Params = single ? { ...single.params } : { halt: 0, cmd: Object.fromEntries(group.map((p, i) => [`c${i}`, `${p.method}?${qs.stringify(p.params)}`])) };
    if (endpoint.auth) payload.auth = endpoint.auth;
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${endpoint.base}${method}.json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs),
        // Never followed: a POST re-sent as a GET to wherever a Location points is no request of ours (a renamed
        // portal is configured anew, not discovered).
        redirect: 'manual',
      });
      text = await res.text();
    } catch (err) {
      const e = err as Error;
      const timeout = e.name === 'TimeoutError' || e.name === 'AbortError';
      throw new TransportError(timeout ? 'TIMEOUT' : 'NETWORK', timeout ? `no answer in ${this.opts.requestTimeoutMs} ms` : e.message, null, method);
    }
    if (res.status >= 300 && res.status < 400) throw new PortalMovedError(res.headers.get('location') ?? '', res.status, method);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new TransportError('BAD_RESPONSE', `HTTP ${res.status}, not JSON: ${text.slice(0, 80)}`, res.status, method);
    }
    if (res.ok && typeof body === 'object' && body !== null && 'result' in body) return body as { result?: unknown };
    throw errorFromBody(body, res.status, method);
  }
}

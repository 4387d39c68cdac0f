import type { CrmDirectory } from '../bitrix24/crm-directory';
import { AccessError, AuthError, Bitrix24Error, DeadlineError, NotInstalledError, OperatingLimitError, PortalGoneError, RateLimitError } from '../bitrix24/errors';
import { PortalMovedError } from '../bitrix24/failure-class';
import type { Logger } from '../log';
import type { Outbox, OutboxItem } from '../outbox';
import { isUnavailable } from '../store';
import { candidates, chooseRouting, rankMatches, type CrmMatch, type CrmUser } from './caller-match';
import { queueAnswer, type LookupAnswer } from './lookup-answer';
import type { PhoneNumber } from './phone-number';
import type { PhoneIndex } from './phone-index';
import { TtlCache } from '../ttl-cache';
import { ENSURE_LEAD, leadKey, type EnsureLeadPayload, type EnsureLeadResult } from './unknown-caller';

export interface LookupOptions {
  deadlineMs: number;
  cacheTtlMs: number;
  userCacheTtlMs: number;
  leadTitle: (e164: string) => string;
  log: Logger;
  onAnswer?: (a: LookupAnswer, seconds: number, cached: boolean) => void;
  /** The local phone index (PHONE_INDEX_SYNC_S): known callers answered from it, confirmed in the background. */
  index?: PhoneIndex | null;
  /** Whether a number is one of the contact center's own (an agent's extension…): never looked up, never a lead. */
  isInternal?: (phone: PhoneNumber) => boolean;
}

/** A finished lead job is trusted this long (covers UCCX retries and index lag); after it, a new search decides. */
export const LEAD_KEY_WINDOW_MS = 60 * 60 * 1000;

const TIMEOUT = Symbol('timeout');

function reasonOf(err: unknown): string {
  if (err instanceof PortalGoneError) return 'bitrix24_portal_gone';
  if (err instanceof PortalMovedError) return 'bitrix24_portal_moved';
  if (err instanceof DeadlineError) return 'bitrix24_timeout';
  if (err instanceof RateLimitError) return 'bitrix24_rate_limited';
  if (err instanceof OperatingLimitError) return 'bitrix24_method_blocked';
  if (err instanceof NotInstalledError) return 'bitrix24_not_installed';
  if (err instanceof AuthError) return 'bitrix24_auth';
  if (err instanceof AccessError) return 'bitrix24_access_denied';
  if (err instanceof Bitrix24Error) return err.transient ? 'bitrix24_unavailable' : 'bitrix24_error';
  return 'internal_error';
}

/**
 * Who owns a caller. Answers within the deadline whatever Bitrix24 does (fail open to the queue); concurrent
 * lookups of one number share one resolution; an unknown caller's lead goes through the outbox, so it is created
 * exactly once and never lost, even when the answer had to be given without it.
 */
export class LookupService {
  private readonly answers: TtlCache<LookupAnswer>;
  private readonly users: TtlCache<CrmUser | null>;
  private readonly inflight = new Map<string, Promise<LookupAnswer>>();
  private readonly margin: number;
  /** Kept from Bitrix24's share of the deadline: a degraded answer waits this long for its lead job to be stored. */
  private readonly storeReserve: number;

  constructor(
    private readonly directory: CrmDirectory,
    private readonly outbox: Outbox,
    private readonly opts: LookupOptions,
  ) {
    this.answers = new TtlCache(opts.cacheTtlMs);
    this.users = new TtlCache(opts.userCacheTtlMs);
    this.confirmed = new TtlCache(opts.cacheTtlMs);
    // Leave room to render and send the answer inside the deadline.
    this.margin = Math.min(50, Math.floor(opts.deadlineMs / 10));
    this.storeReserve = Math.min(200, Math.floor(opts.deadlineMs / 8));
  }

  async lookup(phone: PhoneNumber, callId: string | null): Promise<LookupAnswer> {
    const started = performance.now();
    if (this.opts.isInternal?.(phone)) {
      // An agent's extension (a colleague calling the queue, a call flow that lost its customer): to the queue, no lead.
      const internal = queueAnswer(phone.e164, 'internal', 'internal_number');
      this.opts.onAnswer?.(internal, (performance.now() - started) / 1000, false);
      return internal;
    }
    const cached = this.answers.get(phone.digits);
    if (cached) {
      this.opts.onAnswer?.(cached, (performance.now() - started) / 1000, true);
      return cached;
    }
    let work = this.inflight.get(phone.digits);
    if (!work) {
      const deadline = AbortSignal.timeout(Math.max(1, this.opts.deadlineMs - this.margin - this.storeReserve));
      work = this.resolve(phone, callId, deadline).finally(() => this.inflight.delete(phone.digits));
      this.inflight.set(phone.digits, work);
    }
    let timer: NodeJS.Timeout | undefined;
    const budget = Math.max(0, this.opts.deadlineMs - this.margin - this.storeReserve - (performance.now() - started));
    let answer: LookupAnswer;
    try {
      const r = await Promise.race([work, new Promise<typeof TIMEOUT>((res) => (timer = setTimeout(res, budget, TIMEOUT)))]);
      answer = r === TIMEOUT ? await this.degraded(phone, callId, new DeadlineError('DEADLINE', '', null, 'lookup')) : r;
    } catch (err) {
      answer = await this.degraded(phone, callId, err);
    } finally {
      clearTimeout(timer);
    }
    this.opts.onAnswer?.(answer, (performance.now() - started) / 1000, false);
    return answer;
  }

  /** Bitrix24 did not tell us who the caller is in time: route to the queue, and make sure a lead follows if needed. */
  private async degraded(phone: PhoneNumber, callId: string | null, err: unknown): Promise<LookupAnswer> {
    const reason = reasonOf(err);
    this.opts.log.warn({ phone: phone.e164, reason, err }, 'lookup degraded: routing to the queue');
    // The job is in the store before the answer goes (a node killed right after answering loses nothing), unless the
    // store takes longer than the answer can wait: then it follows, from memory.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.queueLeadSoon(phone, callId), new Promise((r) => (timer = setTimeout(r, Math.max(1, this.storeReserve))))]);
    clearTimeout(timer);
    return queueAnswer(phone.e164, 'degraded', reason);
  }

  /**
   * Lead jobs the store could not take yet (another process holds its lock, PostgreSQL is out of reach): kept here
   * and offered again.
   */
  private readonly waiting = new Map<string, { phone: PhoneNumber; callId: string | null }>();
  private retryTimer: NodeJS.Timeout | null = null;
  private offering: Promise<void> | null = null;

  /** Queues the lead job now, or — the store being unavailable — as soon as it takes it; the answer never waits for it. */
  private queueLeadSoon(phone: PhoneNumber, callId: string | null): Promise<unknown> {
    return this.queueLead(phone, callId, false).catch((e: unknown) => {
      if (!isUnavailable(e)) {
        this.opts.log.error({ phone: phone.e164, err: e }, 'could not queue the lead job');
        return;
      }
      this.hold(phone, callId);
    });
  }

  private hold(phone: PhoneNumber, callId: string | null): void {
    this.waiting.set(phone.digits, { phone, callId });
    this.retryTimer ??= setInterval(() => void this.offerWaiting(), 200);
    this.retryTimer.unref();
  }

  private offerWaiting(): Promise<void> {
    this.offering ??= (async () => {
      for (const [digits, w] of this.waiting) {
        try {
          await this.queueLead(w.phone, w.callId, false);
          this.waiting.delete(digits);
        } catch (e) {
          if (isUnavailable(e)) return; // still unavailable: next round
          this.waiting.delete(digits);
          this.opts.log.error({ phone: w.phone.e164, err: e }, 'could not queue the lead job');
        }
      }
      if (this.waiting.size === 0 && this.retryTimer) {
        clearInterval(this.retryTimer);
        this.retryTimer = null;
      }
    })().finally(() => (this.offering = null));
    return this.offering;
  }

  /** Lead jobs still waiting for the store (shutdown: offered once more). */
  async flushWaiting(): Promise<number> {
    await this.offerWaiting();
    return this.waiting.size;
  }

  private async resolve(phone: PhoneNumber, callId: string | null, signal: AbortSignal): Promise<LookupAnswer> {
    // A known number in the local index: answered from it with no REST request (Bitrix24 may be down), and
    // confirmed with Bitrix24 in the background. An unknown one is searched as always: a record created a second
    // ago must not get a duplicate lead.
    const indexed = this.opts.index?.find(phone);
    if (indexed?.length) {
      const answer = this.answerFor(phone, candidates(indexed), (id) => this.opts.index!.user(id) ?? null);
      this.answers.set(phone.digits, answer);
      this.confirm(phone);
      return answer;
    }
    const matches = await this.directory.findByPhone(phone.variants, signal);
    if (matches.length === 0) return this.unknownCaller(phone, callId);
    const shortlist = candidates(matches);
    const ids = [...new Set(shortlist.map((m) => m.responsibleId).filter((id): id is number => id !== null))];
    const users = new Map<number, CrmUser>();
    await Promise.all(
      ids.map(async (id) => {
        const u = await this.user(id, signal);
        if (u) users.set(id, u);
      }),
    );
    if (indexed) this.opts.index!.confirm(phone, matches);
    const answer = this.answerFor(phone, shortlist, (id) => users.get(id) ?? null);
    this.answers.set(phone.digits, answer);
    return answer;
  }

  /** The routing rule and the picker, the same whether the records came from the index or from Bitrix24. */
  private answerFor(phone: PhoneNumber, shortlist: CrmMatch[], userOf: (id: number) => CrmUser | null): LookupAnswer {
    const users = new Map<number, CrmUser>();
    for (const m of shortlist) {
      const u = m.responsibleId === null ? null : userOf(m.responsibleId);
      if (u) users.set(u.id, u);
    }
    const routing = chooseRouting(shortlist, users)!;
    return {
      route: routing.agent ? 'agent' : 'queue',
      extension: routing.agent?.extension ?? '',
      entityType: routing.match.type,
      entityId: routing.match.id,
      status: 'found',
      responsibleId: routing.match.responsibleId,
      phone: phone.e164,
      reason: '',
      matches: rankMatches(shortlist, users).map((m) => ({ entityType: m.type, entityId: m.id, name: m.name ?? '' })),
    };
  }

  /** Numbers confirmed with Bitrix24 lately: one confirmation per number per cache period. */
  private readonly confirmed: TtlCache<true>;

  /** Asks Bitrix24 about a number answered from the index, and brings the index (and the next answer) up to date. */
  private confirm(phone: PhoneNumber): void {
    if (this.confirmed.get(phone.digits)) return;
    this.confirmed.set(phone.digits, true);
    void (async () => {
      const matches = await this.directory.findByPhone(phone.variants);
      const index = this.opts.index!;
      index.confirm(phone, matches);
      for (const id of new Set(matches.map((m) => m.responsibleId).filter((x): x is number => x !== null))) {
        // Through the user cache the lookups share: a confirmation costs no more user reads than a lookup would.
        const u = await this.user(id);
        if (u) index.confirmUser(u);
      }
      this.answers.delete(phone.digits);
    })().catch((err: Error) => this.opts.log.debug({ phone: phone.e164, err }, 'index confirmation failed; the index answer stands'));
  }

  /** A Bitrix24 user (active, extension), cached for USER_CACHE_TTL_S: lookups and clicks stay off the rate limit. */
  async user(id: number, signal?: AbortSignal): Promise<CrmUser | null> {
    const key = String(id);
    const hit = this.users.get(key);
    if (hit !== undefined) return hit;
    const u = await this.directory.getUser(id, signal);
    this.users.set(key, u);
    return u;
  }

  private async queueLead(phone: PhoneNumber, callId: string | null, searched: boolean): Promise<OutboxItem> {
    const key = leadKey(phone.digits);
    const known = await this.outbox.get(key);
    if (known?.state === 'done' && Date.now() - (known.doneAt ?? 0) > LEAD_KEY_WINDOW_MS) await this.outbox.forgetDone(key);
    const payload: EnsureLeadPayload = {
      digits: phone.digits,
      e164: phone.e164,
      variants: phone.variants,
      callId,
      title: this.opts.leadTitle(phone.e164),
      searched,
    };
    return this.outbox.enqueue(key, ENSURE_LEAD, payload);
  }

  private async unknownCaller(phone: PhoneNumber, callId: string | null): Promise<LookupAnswer> {
    let item: OutboxItem;
    try {
      item = await this.queueLead(phone, callId, true);
    } catch (e) {
      if (!isUnavailable(e)) throw e;
      this.hold(phone, callId);
      return queueAnswer(phone.e164, 'pending', 'store_busy');
    }
    // Try now only if nobody tried yet or the retry is due; otherwise the outbox's backoff stands.
    if (item.state === 'pending' && (item.attempts === 0 || item.nextAt <= Date.now())) item = await this.outbox.deliver(item.id);
    if (item.state !== 'done') return queueAnswer(phone.e164, 'pending', item.lastError ? 'bitrix24_unavailable' : '');
    const r = item.result as EnsureLeadResult;
    const answer: LookupAnswer = {
      route: 'queue',
      extension: '',
      entityType: r.type,
      entityId: r.id,
      status: r.created ? 'created' : 'found',
      responsibleId: null,
      phone: phone.e164,
      reason: '',
      matches: [{ entityType: r.type, entityId: r.id, name: '' }],
    };
    this.answers.set(phone.digits, answer);
    return answer;
  }
}

import type { Logger } from '../log';
import type { OutboxItem, TryOutcome } from '../outbox';
import { normalisePhone, type PhoneRules } from '../lookup/phone-number';
import type { Store } from '../store';

/**
 * One call, one trace: every step the connector takes for a call — the UCCX lookup, the pop in the agent's desktop,
 * the gadget's call reports, the register and the finish in Bitrix24, a missed call, a click and its dial — is one
 * log line at info and one row in the store, carrying the ids it has: UCCX's call id (the lookup's `callId`, the
 * CCDR session), Finesse's dialog id, Bitrix24's CALL_ID, the caller's number. Steps link where two ids meet (a pop
 * and a report share the dialog id, a register gives the CALL_ID the finish uses, the lookup and the pop share the
 * number), so `trace <number|id>` shows a call from UCCX to the CRM card and where it stopped.
 */
export type TraceKind = 'lookup' | 'pop' | 'report' | 'register' | 'finish' | 'lead' | 'missed' | 'click' | 'gadget';

export interface TraceStep {
  kind: TraceKind;
  at: number;
  /** ok, found, registered, retry, failed…: what happened, in one word or two. */
  outcome: string;
  number: string | null;
  callId: string | null;
  dialogId: string | null;
  b24CallId: string | null;
  agent: string | null;
  data: Record<string, unknown>;
}

export type StepInput = Pick<TraceStep, 'kind' | 'outcome'> & Partial<Omit<TraceStep, 'kind' | 'outcome'>>;

/** "+79123456789" → "+7912***89": enough to tell calls apart in a log, not enough to call back. */
export function maskNumber(n: string): string {
  return n.length <= 6 ? '***' : `${n.slice(0, 5)}***${n.slice(-2)}`;
}

/** At most this many rows waiting for the store: a store that cannot keep up loses trace rows, never a lookup. */
const MAX_PENDING = 1000;
/**
 * Rows go to the store together, this long after the first of them: one statement (one commit, one fsync on SQLite)
 * for every step of that moment, never a write in a lookup's own path.
 */
const FLUSH_MS = 200;
const COLUMNS = '(at, kind, number, call_id, dialog_id, b24_call_id, agent, outcome, data)';

export class CallTrace {
  private queue: TraceStep[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  /** Rows not kept because the store was behind (or out of reach). */
  dropped = 0;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly opts: { keepMs: number; numbers: 'masked' | 'full'; rules: PhoneRules; onStep?: (step: TraceKind, outcome: string) => void },
  ) {}

  /** The number as the trace keeps it: E.164 where it parses, else its digits (an extension, a dialled string). */
  canonical(number: string): string {
    const p = normalisePhone(number, this.opts.rules);
    return p.ok ? p.phone.e164 : number.replace(/[^\d+]/g, '').slice(0, 32);
  }

  /** One step: a log line now, a row in the store soon (batched). Never waits, never throws. */
  record(input: StepInput): void {
    const step: TraceStep = {
      at: Date.now(),
      number: null,
      callId: null,
      dialogId: null,
      b24CallId: null,
      agent: null,
      data: {},
      ...input,
    };
    if (step.number) step.number = this.canonical(step.number);
    // The outcome's first word only (no ids, no reasons): a bounded label for the metrics.
    this.opts.onStep?.(step.kind, /^[a-z_]{1,20}/.exec(step.outcome.toLowerCase())?.[0] ?? 'other');
    const shown = step.number && this.opts.numbers === 'masked' ? maskNumber(step.number) : step.number;
    const ids = Object.fromEntries(Object.entries({ callId: step.callId, dialogId: step.dialogId, b24CallId: step.b24CallId, agent: step.agent }).filter(([, v]) => v));
    this.log.info({ trace: step.kind, outcome: step.outcome, ...(shown ? { number: shown } : {}), ...ids, ...step.data }, `call ${step.kind}: ${step.outcome}`);
    if (this.opts.keepMs === 0) return;
    if (this.queue.length >= MAX_PENDING) {
      this.dropped += 1;
      return;
    }
    this.queue.push(step);
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes what waits, now (the batch timer, shutdown, tests). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.writing;
    const batch = this.queue.splice(0, this.queue.length);
    if (!batch.length) return;
    const rows = batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
    const params = batch.flatMap((s) => [s.at, s.kind, s.number, s.callId, s.dialogId, s.b24CallId, s.agent, s.outcome.slice(0, 200), JSON.stringify(s.data)]);
    this.writing = this.store.db
      .run(`INSERT INTO trace ${COLUMNS} VALUES ${rows}`, params)
      .then(() => undefined)
      .catch((err: unknown) => {
        this.dropped += batch.length;
        this.log.debug({ err, rows: batch.length }, 'trace rows not kept');
      })
      .finally(() => (this.writing = null));
    await this.writing;
  }

  /** Whether every recorded row reached the store (tests, shutdown). */
  get idle(): boolean {
    return this.queue.length === 0 && this.writing === null;
  }

  /** Rows older than the kept days go. */
  prune(now = Date.now()): Promise<number> {
    return this.store.db.run('DELETE FROM trace WHERE at < ?', [now - this.opts.keepMs]);
  }

  /**
   * A call's timeline from any of its ids or the caller's number: the steps that carry it, then those that share an
   * id with them (the dialog → its CALL_ID → the finish), and for a call found by an id the lookup of its number just
   * before it. A number alone shows every call of that number in the kept days.
   */
  async find(query: string): Promise<TraceStep[]> {
    await this.flush(); // what this node saw a moment ago is part of the answer
    const q = query.trim();
    if (!q) return [];
    const byNumber = normalisePhone(q, this.opts.rules);
    const found = new Map<number, Row>();
    const add = (rows: Row[]) => rows.forEach((r) => found.set(r.id, r));
    const byId = await this.rows('call_id = ? OR dialog_id = ? OR b24_call_id = ?', [q, q, q]);
    add(byId);
    if (!byId.length && byNumber.ok) add(await this.rows('number = ?', [byNumber.phone.e164]));
    if (found.size) {
      // The steps linked to those by ids, twice (dialog → CALL_ID → the finish, a click of the same CALL_ID); for a call
      // found by an id, the UCCX lookup of its number just before it reached an agent.
      for (let pass = 0; pass < 2; pass++) {
        const ids = [...new Set([...found.values()].flatMap((r) => [r.call_id, r.dialog_id, r.b24_call_id]).filter((v): v is string => Boolean(v)))];
        const marks = ids.map(() => '?').join(', ');
        add(await this.rows(`call_id IN (${marks}) OR dialog_id IN (${marks}) OR b24_call_id IN (${marks})`, [...ids, ...ids, ...ids]));
      }
      const all = [...found.values()];
      const first = all.reduce((a, r) => (r.at < a.at ? r : a));
      const number = all.find((r) => r.number)?.number;
      if (byId.length && number && !all.some((r) => r.kind === 'lookup'))
        add((await this.rows(`kind = 'lookup' AND number = ? AND at BETWEEN ? AND ?`, [number, first.at - 10 * 60_000, first.at])).slice(-1));
    }
    return [...found.values()].sort((a, b) => a.at - b.at || a.id - b.id).map(toStep);
  }

  private rows(where: string, params: unknown[]): Promise<Row[]> {
    return this.store.db.all<Row>(`SELECT * FROM trace WHERE (${where}) ORDER BY at, id LIMIT 500`, params);
  }
}

interface Row {
  id: number;
  at: number;
  kind: TraceKind;
  number: string | null;
  call_id: string | null;
  dialog_id: string | null;
  b24_call_id: string | null;
  agent: string | null;
  outcome: string;
  data: string;
}

function toStep(r: Row): TraceStep {
  return {
    kind: r.kind,
    at: Number(r.at),
    outcome: r.outcome,
    number: r.number,
    callId: r.call_id,
    dialogId: r.dialog_id,
    b24CallId: r.b24_call_id,
    agent: r.agent,
    data: JSON.parse(r.data) as Record<string, unknown>,
  };
}

/** An outbox job's try as a step of its call (jobs that belong to no call — notices, index reads — are none). */
export function outboxStep(item: OutboxItem, outcome: TryOutcome): StepInput | null {
  const p = (item.payload ?? {}) as Record<string, unknown>;
  const r = (outcome.kind === 'delivered' ? (outcome.result ?? {}) : {}) as Record<string, unknown>;
  const said =
    outcome.kind === 'delivered'
      ? typeof r.skipped === 'string'
        ? `skipped: ${r.skipped}`
        : 'ok'
      : outcome.kind === 'parked'
        ? `refused for good: ${outcome.reason}`
        : `retry in ${Math.round(outcome.retryInMs / 1000)} s: ${outcome.reason}`;
  const data = { attempts: item.attempts };
  const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
  switch (item.kind) {
    case 'call.register': {
      const record = (p.record ?? {}) as Record<string, unknown>;
      return { kind: 'register', outcome: said, agent: str(p.agentId), dialogId: str(record.dialogId), number: str(record.number), b24CallId: str(r.callId), data: { ...data, userId: r.userId } };
    }
    case 'call.finish': {
      const click = (p.click ?? {}) as Record<string, unknown>;
      return {
        kind: 'finish',
        outcome: said,
        agent: str(p.agentId),
        dialogId: str(p.dialogId),
        b24CallId: str(r.callId) ?? str(click.callId),
        data: { ...data, statusCode: r.statusCode, duration: r.duration },
      };
    }
    case 'lead.ensure':
      return { kind: 'lead', outcome: said, number: str(p.e164), callId: str(p.callId), data: { ...data, record: r.type ? `${String(r.type)}:${String(r.id)}` : undefined, created: r.created } };
    case 'missed.log':
      return { kind: 'missed', outcome: said, number: str(p.caller), callId: str(p.sessionId), b24CallId: str(r.callId), data: { ...data, record: p.crmRef || undefined } };
    case 'click.fail':
      return { kind: 'click', outcome: `failure reported: ${said}`, b24CallId: str(p.callId), data };
    default:
      return null;
  }
}

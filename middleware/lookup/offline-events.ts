import type { Logger } from '../log';
import { Poller } from '../poller';
import type { CrmEntityType } from './caller-match';

/**
 * Bitrix24's offline events (PHONE_INDEX_EVENTS=offline), for a middleware Bitrix24 cannot reach: the portal queues
 * each changed record — the latest change only — and we read the queue (conformance/bitrix24/docs/offline-events.md).
 * `event.offline.get` with its default `clear=1` takes the records off the queue (the confirmed mode is not on every
 * plan); each is put into the outbox at once, so a change read is acted on even if Bitrix24 is down a moment later.
 * One lost between the two (a crash in that millisecond) is found by the next full read.
 */
export interface OfflineEvent {
  ID: string;
  TIMESTAMP_X: string;
  EVENT_NAME: string;
  EVENT_DATA: unknown;
  MESSAGE_ID: string;
}

export interface RecordChange {
  type: CrmEntityType;
  id: number;
  deleted: boolean;
}

/**
 * The record an offline event names, or null. The documentation's example has `EVENT_DATA: false`; connectors in
 * production read the record's id from `EVENT_DATA.FIELDS.ID`, as in a handler event's `data` — both are taken.
 */
export function recordChangeOf(e: OfflineEvent): RecordChange | null {
  const m = /^ONCRM(CONTACT|COMPANY|LEAD)(ADD|UPDATE|DELETE)$/.exec(String(e.EVENT_NAME ?? '').toUpperCase());
  if (!m) return null;
  const fields = e.EVENT_DATA && typeof e.EVENT_DATA === 'object' ? (e.EVENT_DATA as { FIELDS?: { ID?: unknown } }).FIELDS : undefined;
  const id = Number(fields?.ID);
  if (!Number.isInteger(id) || id <= 0) return null;
  return { type: m[1] as CrmEntityType, id, deleted: m[2] === 'DELETE' };
}

/** Offline events read per request: the documented default page. */
const PAGE = 50;

export class OfflineEventReader {
  private poller: Poller | null = null;
  /** Events read in all, and those that named no record (then a full read is asked for). */
  readonly counts = { read: 0, unnamed: 0 };
  lastError: string | null = null;
  lastReadAt: number | null = null;

  constructor(
    private readonly d: {
      fetch: (params: Record<string, unknown>) => Promise<{ events?: OfflineEvent[] } | null>;
      /** Puts one change into the outbox (returns once it is stored). */
      queue: (change: RecordChange, event: OfflineEvent) => Promise<void>;
      /** An event named no record: the index cannot tell what changed; a full read finds it. */
      unnamed: () => void;
      log: Logger;
    },
  ) {}

  /** Reads the queue until it is empty; returns how many events were taken. */
  async readOnce(): Promise<number> {
    let taken = 0;
    for (;;) {
      const r = await this.d.fetch({ limit: PAGE });
      const events = Array.isArray(r?.events) ? r.events : [];
      let unnamed = 0;
      for (const e of events) {
        const change = recordChangeOf(e);
        if (change) await this.d.queue(change, e);
        else unnamed += 1;
      }
      this.counts.read += events.length;
      this.counts.unnamed += unnamed;
      if (unnamed) {
        this.d.log.warn({ events: unnamed }, 'offline events without a record id; the phone index reads everything again to find the change');
        this.d.unnamed();
      }
      taken += events.length;
      this.lastReadAt = Date.now();
      this.lastError = null;
      if (events.length < PAGE) return taken;
    }
  }

  start(everyMs: number): void {
    this.poller ??= new Poller({
      what: 'reading Bitrix24 offline events',
      everyMs,
      work: () =>
        this.readOnce().then(
          () => undefined,
          (err: Error) => {
            this.lastError = err.message;
            this.d.log.warn({ err }, 'reading Bitrix24 offline events failed; tried again shortly');
          },
        ),
      log: this.d.log,
    });
    this.poller.start();
  }

  stop(): void {
    this.poller?.stop();
  }
}

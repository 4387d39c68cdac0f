import { join } from 'node:path';
import { NotInstalledError } from '../bitrix24/errors';
import { Bitrix24Client } from '../bitrix24/rest-client';
import type { Core } from '../core';
import type { Handler } from '../outbox';
import { Poller } from '../poller';
import { IndexSync } from './index-sync';
import { OfflineEventReader, type OfflineEvent, type RecordChange } from './offline-events';
import { PhoneIndex, type IndexedRecord } from './phone-index';

/** Bitrix24's offline queue is read this often (a change reaches the index within it, plus one read of the record). */
const OFFLINE_EVENTS_EVERY_MS = 10_000;
/** A phone index read that failed (Bitrix24 down) is resumed this soon. */
const INDEX_RETRY_MS = 60_000;
/** Before the application is installed, the index looks again this often (no request is sent meanwhile). */
const INDEX_WAIT_INSTALL_MS = 2_000;
export const INDEX_REFRESH = 'index.refresh';

type CrmType = 'CONTACT' | 'COMPANY' | 'LEAD';

/**
 * The local copy of the CRM's phone numbers (PHONE_INDEX_SYNC_S) and what keeps it current: a full read at start and
 * every period, a record read again when Bitrix24 says it changed (its handler delivery, or its offline queue), and
 * what another node read, taken from the store's messages. Its own REST client, on the shared bucket: its batches
 * never hold up a lookup's.
 */
export class IndexKeeper {
  readonly index: PhoneIndex;
  readonly sync: IndexSync;
  /** PHONE_INDEX_EVENTS=offline: Bitrix24's queue of CRM changes. */
  readonly offlineEvents: OfflineEventReader | null;
  private readonly fullReads: Poller;

  constructor(private readonly core: Core) {
    const { config, store, log } = core;
    this.index = new PhoneIndex(join(config.dataDir, 'phone-index.sqlite'), config.phone);
    this.sync = new IndexSync(new Bitrix24Client(core.credentials, core.bucket, core.clientOptions), this.index, { bucket: core.bucket, burst: config.rate.burst });
    // Another node took a CRM event (Bitrix24 sends each to one address) and read the record: this node's index takes it.
    store.subscribe('crm.changed', (data) => {
      const d = data as { type: CrmType; id: number; record: IndexedRecord | null };
      try {
        this.index.upsert(d.record, d.type, d.id);
      } catch (err) {
        log.warn({ err }, 'phone index update from another node failed; the next full read brings it');
      }
    });
    this.offlineEvents =
      config.phoneIndexEvents === 'offline' && config.bitrix24.mode === 'app'
        ? new OfflineEventReader({
            fetch: (params) => core.client.call<{ events?: OfflineEvent[] } | null>('event.offline.get', params),
            queue: async (change, e) => void (await core.outbox.enqueue(`index-refresh:${change.type}:${change.id}:${e.ID}`, INDEX_REFRESH, change)),
            // An event that names no record: only a full read finds it.
            unnamed: () => this.fullReads.soon(),
            log,
          })
        : null;
    this.fullReads = new Poller({ what: 'the phone index read', everyMs: config.phoneIndexSyncMs, work: () => this.fullRead(), log });
  }

  /** The outbox job of a change read from the offline queue: the record is read into the index (and the other nodes'). */
  readonly refreshHandler: Handler = async ({ payload }) => {
    const c = payload as RecordChange;
    await this.crmChanged(c.type, c.id, c.deleted);
    return { read: `${c.type}:${c.id}` };
  };

  /** A full read of the CRM's numbers; the wait before the next one. */
  private async fullRead(): Promise<number> {
    const t0 = Date.now();
    const { log, config } = this.core;
    try {
      const st = await this.sync.run();
      log.info({ records: st.records, numbers: st.numbers, users: st.users, requests: this.sync.requests, seconds: Math.round((Date.now() - t0) / 1000) }, 'phone index rebuilt from Bitrix24');
      return config.phoneIndexSyncMs;
    } catch (err) {
      // Not installed yet (a first start): read as soon as the install is done, without a request meanwhile.
      if (err instanceof NotInstalledError) return INDEX_WAIT_INSTALL_MS;
      log.warn({ err }, 'phone index sync failed; lookups use the last complete index (or Bitrix24); it resumes within a minute');
      // Bitrix24 back after an outage: the index catches up within a minute, not at the next full period.
      return Math.min(INDEX_RETRY_MS, config.phoneIndexSyncMs);
    }
  }

  /**
   * A CRM record changed: this node's index reads it again and hands what it read to the other nodes' indexes (each
   * keeps its own; one read per change, whatever the number of nodes — the portal's rate limit is shared).
   */
  async crmChanged(type: CrmType, id: number, deleted: boolean): Promise<void> {
    const record = await this.sync.refreshRecord(type, id, deleted);
    if (!this.core.store.shared) return;
    await this.core.store
      .publish('crm.changed', { type, id, record })
      .catch((err: unknown) => this.core.log.warn({ err }, 'could not tell the other nodes about a CRM change; their indexes catch up at the next full read'));
  }

  summary(): { complete: boolean; ageSeconds: number | null; records: number; numbers: number } {
    const st = this.index.state();
    return { complete: st.gen > 0, ageSeconds: st.builtAt ? Math.round((Date.now() - Date.parse(st.builtAt)) / 1000) : null, records: st.records, numbers: st.numbers };
  }

  /** A full read at start (or the rest of an interrupted one), then every PHONE_INDEX_SYNC_S; the offline queue. */
  start(): void {
    this.fullReads.start();
    this.offlineEvents?.start(OFFLINE_EVENTS_EVERY_MS);
  }

  stop(): void {
    this.fullReads.stop();
    this.offlineEvents?.stop();
  }

  close(): void {
    this.stop();
    this.index.close();
  }
}

import type { CcdrSource } from './ccdr-source';
import { LiveFacts, type AgentFact, type CsqFact, type ReportFacts, type UtcRange } from './report-facts';
import { localDay, localHour, localTime, type Period } from './period';

/**
 * The contact-center reports, as Cisco's stock UCCX reports define them (Cisco Unified CCX Historical Reports User Guide; UCCX Reporting User Guide 12.5(1), FAQs), over db_cra.
 * SQL counts and sums; the portal's time zone is applied here. A call belongs to the period by the start of its leg.
 */
export interface Filters {
  csq?: string;
  agent?: string;
}

export interface CsqRow {
  csq: string;
  presented: number;
  handled: number;
  abandoned: number;
  dequeued: number;
  handledByOther: number;
  /** Queue records with a disposition Cisco does not document (or none): in `presented`, in no other column. */
  unknownDisposition: number;
  /** Queue records whose queue time UCCX left missing or negative: counted, with 0 s. */
  invalidTimes: number;
  avgQueueSeconds: number;
  maxQueueSeconds: number;
  /** Cisco's "service level, abandoned calls not counted": handled within SL ÷ (presented − abandoned within SL). */
  serviceLevelPercent: number | null;
}

export interface AgentRow {
  agent: string;
  /** The agent's login (resourceLoginID): what the agent filter takes. */
  login: string;
  extension: string;
  presented: number;
  handled: number;
  rna: number;
  talkSeconds: number;
  holdSeconds: number;
  workSeconds: number;
  avgHandleSeconds: number | null;
  /** Connection records with a missing or negative talk, hold or work time: counted, with 0 s. */
  invalidTimes: number;
}

export interface AbandonedRow {
  time: string;
  caller: string;
  csq: string;
  queueSeconds: number;
  crmRef: string;
  crmUrl: string | null;
}

export interface VolumeRow {
  bucket: string;
  presented: number;
  handled: number;
  abandoned: number;
}

export const REPORT_NAMES = ['csq', 'agents', 'abandoned', 'volume'] as const;
export type ReportName = (typeof REPORT_NAMES)[number];
export const isReportName = (name: string): name is ReportName => (REPORT_NAMES as readonly string[]).includes(name);

const utcRange = (p: Period): UtcRange => ({ start: p.utcStart, end: p.utcEnd });
/** Code-point order, the same whichever database sorted. */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export const SERVICE_LEVEL_VARIANT = 'abandoned calls not counted: handled within SL ÷ (presented − abandoned within SL)';

const round1 = (n: number) => Math.round(n * 10) / 10;
const REF = /^(CONTACT|LEAD|COMPANY|DEAL):(\d{1,12})$/;

export class Reports {
  private readonly facts: ReportFacts;

  /** Over db_cra itself, or over the rollup in front of it (rollup.ts). */
  constructor(
    source: CcdrSource | ReportFacts,
    private readonly crmBaseUrl: string | null,
  ) {
    this.facts = 'dialect' in source ? new LiveFacts(source) : source;
  }

  /** One report by its name in the API and CSV links. */
  table(name: ReportName, p: Period, f: Filters, by: 'hour' | 'day'): Promise<object[]> {
    switch (name) {
      case 'csq':
        return this.csqActivity(p, f);
      case 'agents':
        return this.agentSummary(p, f);
      case 'abandoned':
        return this.abandoned(p, f);
      case 'volume':
        return this.volume(p, by);
    }
  }

  async csqActivity(p: Period, f: Filters = {}): Promise<CsqRow[]> {
    const by = new Map<string, CsqFact>();
    for (const x of await this.facts.csq(utcRange(p), f.csq)) {
      const a = by.get(x.csq);
      if (!a) {
        by.set(x.csq, { ...x });
        continue;
      }
      for (const k of ['presented', 'handled', 'abandoned', 'dequeued', 'byother', 'unknowndisp', 'badtimes', 'queuetotal', 'handledin', 'abandonedin'] as const) a[k] += x[k];
      a.queuemax = Math.max(a.queuemax, x.queuemax);
    }
    return [...by.values()]
      .sort((a, b) => cmp(a.csq, b.csq))
      .map((r) => {
        const slBase = r.presented - r.abandonedin;
        return {
          csq: r.csq,
          presented: r.presented,
          handled: r.handled,
          abandoned: r.abandoned,
          dequeued: r.dequeued,
          handledByOther: r.byother,
          unknownDisposition: r.unknowndisp,
          invalidTimes: r.badtimes,
          avgQueueSeconds: r.presented ? round1(r.queuetotal / r.presented) : 0,
          maxQueueSeconds: r.queuemax,
          serviceLevelPercent: slBase > 0 ? round1((r.handledin / slBase) * 100) : null,
        };
      });
  }

  async agentSummary(p: Period, f: Filters = {}): Promise<AgentRow[]> {
    // One line per name and extension: a re-saved agent (several resourceIDs, one login) stays one line.
    const by = new Map<string, AgentFact>();
    for (const x of await this.facts.agents(utcRange(p), f.agent)) {
      const key = `${x.agent}\u0000${x.extension}`;
      const a = by.get(key);
      if (!a) {
        by.set(key, { ...x });
        continue;
      }
      for (const k of ['presented', 'handled', 'talk', 'hold', 'work', 'badtimes'] as const) a[k] += x[k];
    }
    return [...by.values()]
      .sort((a, b) => cmp(a.agent, b.agent) || cmp(a.extension, b.extension))
      .map((r) => ({
        agent: r.agent,
        login: r.loginid,
        extension: r.extension,
        presented: r.presented,
        handled: r.handled,
        rna: r.presented - r.handled,
        talkSeconds: r.talk,
        holdSeconds: r.hold,
        workSeconds: r.work,
        avgHandleSeconds: r.handled ? round1((r.talk + r.hold + r.work) / r.handled) : null,
        invalidTimes: r.badtimes,
      }));
  }

  /**
   * Cisco's Abandoned Call Detail: one row per abandoned call (stats/missed-rule.ts) — also one queued to two CSQs,
   * also one lost in the IVR before any queue (no CSQ) — never an abandon after an agent had talked.
   */
  async abandoned(p: Period, f: Filters = {}): Promise<AbandonedRow[]> {
    const rows = await this.facts.abandoned(utcRange(p), f.csq);
    return rows.map((r) => {
      const ref = REF.exec(r.lastref) ?? REF.exec(r.crmref);
      return {
        time: localTime(r.started, p.timeZone),
        caller: r.caller,
        csq: r.csq,
        queueSeconds: r.queuetime,
        crmRef: ref ? ref[0] : '',
        crmUrl: ref && this.crmBaseUrl ? `${this.crmBaseUrl.replace(/\/+$/, '')}/crm/${ref[1]!.toLowerCase()}/details/${ref[2]}/` : null,
      };
    });
  }

  /** Incoming calls (first leg) by local hour or day; the doubled hour of a DST end stays two buckets. */
  async volume(p: Period, by: 'hour' | 'day'): Promise<VolumeRow[]> {
    const rows = await this.facts.volume(utcRange(p));
    const buckets = new Map<string, VolumeRow>();
    for (const r of rows) {
      const utc = `${r.quarter}:00.000`;
      const bucket = by === 'hour' ? localHour(utc, p.timeZone) : localDay(utc, p.timeZone);
      const b = buckets.get(bucket) ?? { bucket, presented: 0, handled: 0, abandoned: 0 };
      b.presented += r.presented;
      b.handled += r.handled;
      b.abandoned += r.abandoned;
      buckets.set(bucket, b);
    }
    // Chronological: hours sort by their UTC instant (the offset is part of the label).
    const key = (b: string) => (by === 'hour' ? Date.parse(b.replace(' ', 'T').replace(/(\d{2}:00)([+-])/, '$1:00$2')) : Date.parse(b));
    return [...buckets.values()].sort((a, b) => key(a.bucket) - key(b.bucket));
  }
}

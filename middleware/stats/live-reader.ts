import type { Logger } from '../log';
import { Poller } from '../poller';
import { CcdrError, type CcdrSource } from './ccdr-source';
import { buildSnapshot, emptySnapshot, liveStatements, type LiveSnapshot } from './live-snapshot';

/**
 * The live view's one reader: every interval it reads UCCX's real-time snapshot (two statements, one per table) and
 * keeps the result in memory, with its JSON ready — every open page, wallboard and /metrics scrape is answered from
 * there, so fifty viewers cost db_cra what one does. Today's service level per CSQ comes from the call-record reports
 * less often (`serviceLevelEveryMs`): it is not in the real-time tables.
 */
export interface LiveNode {
  /** What an operator sees: the HOST of the connection (never its password). */
  name: string;
  source: CcdrSource;
}

export interface LiveReaderOptions {
  /**
   * db_cra on each UCCX node (one, or both of an HA pair). The node that last gave a current snapshot is read first;
   * while its snapshot is not current the other is read too (UCCX writes the snapshot where its engine is master, and
   * a standby's copy may lag or be empty), so a fail-over in UCCX does not leave the view stale.
   */
  nodes: LiveNode[];
  /** The sources are the reader's own (the wallboard user's connections): `close()` closes them. */
  ownsSources?: boolean;
  intervalSeconds: number;
  log: Pick<Logger, 'warn' | 'info'>;
  /** Today's service level by CSQ name (the CSQ report's definition); failures keep the last one. */
  serviceLevel?: () => Promise<Map<string, number | null>>;
  serviceLevelEveryMs?: number;
  /** Each new snapshot (metrics). */
  onSnapshot?: (s: LiveSnapshot) => void;
  /** Each statement sent to db_cra (benchmarks count them). */
  onStatement?: () => void;
  now?: () => number;
}

export class LiveReader {
  private snapshot: LiveSnapshot;
  private json: string;
  private readonly poller: Poller;
  private serviceLevel = new Map<string, number | null>();
  private serviceLevelAt = -Infinity;
  private lastProblem: string | null = null;
  /** The node read first: the one that last gave a current snapshot. */
  private preferred = 0;

  constructor(private readonly o: LiveReaderOptions) {
    this.snapshot = emptySnapshot('starting', o.intervalSeconds);
    this.json = JSON.stringify(this.snapshot);
    this.poller = new Poller({ what: 'the live queues read', everyMs: o.intervalSeconds * 1000, work: () => this.read(), log: o.log });
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  start(): void {
    this.poller.start();
  }

  stop(): void {
    this.poller.stop();
  }

  async close(): Promise<void> {
    this.stop();
    if (this.o.ownsSources) await Promise.all(this.o.nodes.map((n) => n.source.close().catch(() => undefined)));
  }

  /** The last snapshot (never a read of its own). */
  current(): LiveSnapshot {
    return this.snapshot;
  }

  /** The last snapshot as JSON, serialised once per read. */
  currentJson(): string {
    return this.json;
  }

  /** One read: both tables of the preferred node (and of the other while that one is not current), then the service level. */
  async read(): Promise<void> {
    let next: LiveSnapshot | null = null;
    let fallback: LiveSnapshot | null = null;
    let failure: CcdrError | null = null;
    const order = this.o.nodes.map((_, i) => (this.preferred + i) % this.o.nodes.length);
    for (const i of order) {
      try {
        const s = await this.readNode(this.o.nodes[i]!);
        if (s.state === 'live') {
          this.preferred = i;
          next = s;
          break;
        }
        fallback ??= s;
      } catch (err) {
        if (!(err instanceof CcdrError)) throw err;
        failure ??= err;
      }
    }
    if (!next && fallback) next = fallback;
    if (!next) {
      // The last numbers stay on screen, marked: a supervisor sees they are old rather than a blank page.
      const last = this.snapshot;
      const age = last.writtenAt ? Math.max(0, Math.round((this.now() - Date.parse(last.writtenAt)) / 1000)) : null;
      next = { ...last, state: 'unreachable', readAt: new Date(this.now()).toISOString(), ageSeconds: age, problem: `the UCCX database does not answer: ${failure!.message}` };
    }
    if (next.problem !== this.lastProblem) {
      if (next.problem) this.o.log.warn({ state: next.state, node: next.node, problem: next.problem }, 'live queues: not live');
      else if (this.lastProblem) this.o.log.info({ state: next.state, node: next.node }, 'live queues: live again');
      this.lastProblem = next.problem;
    }
    this.snapshot = next;
    this.json = JSON.stringify(next);
    this.o.onSnapshot?.(next);
  }

  private async readNode(node: LiveNode): Promise<LiveSnapshot> {
    const sql = liveStatements(node.source.dialect);
    const query = (s: string) => {
      this.o.onStatement?.();
      return node.source.query(s, []);
    };
    const [csqRows, systemRows] = await Promise.all([query(sql.csq), query(sql.system)]);
    await this.refreshServiceLevel();
    return { ...buildSnapshot({ csqRows, systemRows, now: this.now(), intervalSeconds: this.o.intervalSeconds, serviceLevel: this.serviceLevel }), node: node.name };
  }

  private async refreshServiceLevel(): Promise<void> {
    if (!this.o.serviceLevel || this.now() - this.serviceLevelAt < (this.o.serviceLevelEveryMs ?? 60_000)) return;
    this.serviceLevelAt = this.now();
    try {
      this.serviceLevel = await this.o.serviceLevel();
    } catch (err) {
      this.o.log.warn({ err }, 'live queues: service level not read; the last one is shown');
    }
  }
}

import { CcdrError, type CcdrSource, type Dialect, type Row } from './ccdr-source';

/**
 * db_cra on both nodes of a UCCX HA pair: statements go to the first node listed (Cisco recommends reporting from
 * the standby, so list it first) and move to the other when the first cannot be reached; the first is tried again
 * after `retryFirstMs`. Only an unreachable node moves them — an SQL error is the same on both and is the answer.
 */
export interface CcdrNode {
  /** What an operator sees: the HOST of the connection string (never its password). */
  name: string;
  source: CcdrSource;
}

export interface FailoverStatus {
  using: string;
  nodes: string[];
  /** The last move between nodes and why. */
  lastSwitch: { at: string; to: string; reason: string } | null;
}

export class FailoverCcdrSource implements CcdrSource {
  readonly dialect: Dialect;
  private current = 0;
  private movedAt = 0;
  private lastSwitch: FailoverStatus['lastSwitch'] = null;

  constructor(
    private readonly nodes: CcdrNode[],
    private readonly opts: { retryFirstMs: number; now?: () => number },
  ) {
    if (!nodes.length) throw new Error('no call-record nodes');
    this.dialect = nodes[0]!.source.dialect;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  status(): FailoverStatus {
    return { using: this.nodes[this.current]!.name, nodes: this.nodes.map((n) => n.name), lastSwitch: this.lastSwitch };
  }

  /** The order to try: the node in use, or the first again once it has rested `retryFirstMs`. */
  private order(): number[] {
    const start = this.current !== 0 && this.now() - this.movedAt >= this.opts.retryFirstMs ? 0 : this.current;
    return this.nodes.map((_, i) => (start + i) % this.nodes.length);
  }

  query(sql: string, params: Array<string | number>): Promise<Row[]> {
    return this.run((s) => s.query(sql, params));
  }

  ping(): Promise<void> {
    return this.run((s) => s.ping());
  }

  private async run<T>(fn: (s: CcdrSource) => Promise<T>): Promise<T> {
    let last: CcdrError | null = null;
    for (const i of this.order()) {
      try {
        const result = await fn(this.nodes[i]!.source);
        if (i !== this.current) this.move(i, last?.message ?? 'the first node answers again');
        return result;
      } catch (err) {
        if (!(err instanceof CcdrError && err.unreachable)) throw err;
        last = err;
        if (i === this.current) this.movedAt = this.now(); // rest the failed node before trying it first again
      }
    }
    throw new CcdrError(this.nodes.length > 1 ? `no node of the call records answers: ${last!.message}` : last!.message, true);
  }

  private move(to: number, reason: string): void {
    this.current = to;
    this.movedAt = this.now();
    this.lastSwitch = { at: new Date(this.now()).toISOString(), to: this.nodes[to]!.name, reason: reason.slice(0, 300) };
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.source.close().catch(() => undefined)));
  }
}

/** The HOST (else SERVER, else DSN, else Database) of an ODBC connection string: a name without secrets. */
export function nodeName(connection: string, index: number): string {
  for (const key of ['HOST', 'SERVER', 'DSN', 'DATABASE']) {
    const m = new RegExp(`(?:^|;)\\s*${key}\\s*=\\s*([^;]+)`, 'i').exec(connection);
    if (m) return m[1]!.trim();
  }
  return `node ${index + 1}`;
}

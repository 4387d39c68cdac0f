import { SQLITE_DIALECT, SqliteCcdrSource, type CcdrSource } from './ccdr-source';
import { OdbcCcdrSource } from './odbc-source';
import { FailoverCcdrSource, nodeName } from './failover-source';

export type CcdrConfig = { kind: 'sqlite'; path: string } | { kind: 'odbc'; connections: string[] };

/** How long a failed first node rests before statements try it first again. */
const RETRY_FIRST_MS = 60_000;

/**
 * The configured CCDR source. Opening is lazy for ODBC (the database may be down at start: lookups go on); with
 * both nodes of a UCCX HA pair, statements move to the other when one cannot be reached.
 */
export function openCcdrSource(source: CcdrConfig, queryTimeoutMs: number): CcdrSource {
  if (source.kind === 'sqlite') return new LazySqlite(source.path);
  const nodes = source.connections.map((c, i) => ({ name: nodeName(c, i), source: new OdbcCcdrSource(c, queryTimeoutMs) }));
  return new FailoverCcdrSource(nodes, { retryFirstMs: RETRY_FIRST_MS });
}

/**
 * db_cra per UCCX node for the live queues: the wallboard user's connections (LIVE_ODBC_CONNECTION[_2]) when set,
 * else the call records' own; each node its own source, so the reader can tell which one UCCX writes the snapshot on.
 * `ownsSources`: opened here (the reader closes them); a single call-record source is shared and stays open.
 */
export function openLiveNodes(
  stats: { source: CcdrConfig | null; liveSource: { kind: 'odbc'; connections: string[] } | null; queryTimeoutMs: number },
  ccdr: CcdrSource,
): { nodes: Array<{ name: string; source: CcdrSource }>; ownsSources: boolean } {
  const connections = stats.liveSource?.connections ?? (stats.source?.kind === 'odbc' && stats.source.connections.length > 1 ? stats.source.connections : null);
  if (!connections) return { nodes: [{ name: 'db_cra', source: ccdr }], ownsSources: false };
  return { nodes: connections.map((c, i) => ({ name: nodeName(c, i), source: new OdbcCcdrSource(c, stats.queryTimeoutMs) })), ownsSources: true };
}

/** Opens the SQLite file on first use, so a missing file is a 503 on the report, not a failed start. */
class LazySqlite implements CcdrSource {
  private inner: SqliteCcdrSource | null = null;
  readonly dialect = SQLITE_DIALECT;
  constructor(private readonly path: string) {}
  private open(): SqliteCcdrSource {
    this.inner ??= new SqliteCcdrSource(this.path);
    return this.inner;
  }
  query(sql: string, params: Array<string | number>) {
    return Promise.resolve().then(() => this.open().query(sql, params));
  }
  ping() {
    return Promise.resolve().then(() => this.open().ping());
  }
  async close() {
    await this.inner?.close();
  }
}

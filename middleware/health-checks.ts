import { AppCredentials } from './bitrix24/credentials';
import type { AgentChannels } from './calls/agent-channels';
import type { InternalNumbers } from './calls/internal-numbers';
import type { Core } from './core';
import type { FinesseSides } from './finesse/finesse-sides';
import type { IndexKeeper } from './lookup/index-keeper';
import type { Check, Checks } from './routes/health-routes';
import { FailoverCcdrSource } from './stats/failover-source';
import type { StatsRollup } from './stats/rollup';
import { withQueryDeadline } from './stats/table-output';

/** The parts of a node /readyz reports on. */
export interface CheckedParts {
  core: Core;
  finesse: FinesseSides | null;
  channels: AgentChannels;
  internalNumbers: InternalNumbers;
  keeper: IndexKeeper | null;
  statsRollup: StatsRollup | null;
}

/** The store answers, and what the node needed from it at start has been read. */
export async function storeCheck(core: Core): Promise<Check> {
  const where = core.store.db.describe();
  const node = core.store.shared ? { node: core.store.nodeId } : {};
  try {
    await core.store.ping();
  } catch (err) {
    return { ok: false, ...where, ...node, reason: (err as Error).message.slice(0, 300) };
  }
  if (!core.agentTokens.loaded) return { ok: false, ...where, ...node, reason: 'the store is reachable again; the node is reading its state from it' };
  return { ok: true, ...where, ...node };
}

/** Bitrix24 readiness: credentials present and a cheap call answered within the last 30 s (one probe for all callers). */
export function bitrix24Check(core: Core): () => Promise<Check> {
  let probe: { at: number; check: Check } | null = null;
  return async () => {
    const mode = core.credentials.mode;
    if (core.credentials instanceof AppCredentials && !core.credentials.installation()) {
      return { ok: false, mode, reason: 'the Bitrix24 application is not installed: install it from the portal (docs/install.md)' };
    }
    const portal = core.portalState.condition;
    if (portal.state !== 'ok') {
      // Known without a request: the state says what is wrong and what to do (portal-state.ts).
      return { ok: false, mode, portal: portal.state, since: new Date(portal.since).toISOString(), reason: portal.reason, ...(portal.location !== undefined ? { location: portal.location } : {}) };
    }
    if (probe && Date.now() - probe.at < 30_000) return probe.check;
    let check: Check;
    try {
      await core.directory.serverTime(AbortSignal.timeout(2000));
      check = { ok: true, mode };
    } catch (err) {
      check = { ok: false, mode, reason: (err as Error).message };
    }
    probe = { at: Date.now(), check };
    return check;
  };
}

/** What /readyz says about each part: only the store and Bitrix24 decide readiness, the rest is reported. */
export function healthChecks(n: CheckedParts): Checks {
  const { core } = n;
  return {
    // Not ready without it: a balancer sends lookups to a node that has it (this one still answers, failing open).
    store: () => storeCheck(core),
    bitrix24: bitrix24Check(core),
    // Reported, not fatal: lookups and statistics work without it.
    clickToDial: () => (n.finesse ? { ok: true, gadgetsOnline: n.channels.count(), finesse: n.finesse.status() } : { ok: true, off: 'FINESSE_URL is not set: click-to-dial and call logging are off' }),
    outbox: async () => {
      const s = await core.outbox.stats();
      // A backlog is reported, not fatal: lookups still answer and the outbox keeps trying.
      return { ok: true, depth: s.depth, oldestPendingSeconds: Math.round(s.oldestPendingMs / 1000), parked: s.parked };
    },
    // Reported, not fatal: what only a portal administrator can fix (bitrix24/admin-notices.ts).
    adminNotices: async () => ({
      ok: true,
      open: (await core.notices.list()).map((x) => ({ kind: x.kind, method: x.method, detail: x.detail, since: new Date(x.firstAt).toISOString(), lastSeen: new Date(x.lastAt).toISOString() })),
    }),
    // Reported, not fatal: agents' extensions are guarded from their sessions even before the portal's list is read.
    internalNumbers: () => {
      const i = n.internalNumbers;
      return { ok: true, numbers: i.size, readAt: i.readAt && new Date(i.readAt).toISOString(), lastError: i.lastError };
    },
    // Reported, not fatal: without a complete index lookups ask Bitrix24 as before.
    phoneIndex: () => {
      if (!n.keeper) return { ok: true, off: 'PHONE_INDEX_SYNC_S=0' };
      const { users, building, lastError } = n.keeper.index.state();
      const o = n.keeper.offlineEvents;
      const events = o
        ? { mode: 'offline', read: o.counts.read, withoutRecordId: o.counts.unnamed, lastReadAt: o.lastReadAt && new Date(o.lastReadAt).toISOString(), lastError: o.lastError }
        : { mode: core.config.bitrix24.mode === 'app' ? 'handler' : 'none (webhook mode: changes are taken at lookups and full reads)' };
      return { ok: true, ...n.keeper.summary(), users, building, lastError, events };
    },
    // Reported, not fatal: lookups and screen-pops do not need the call records.
    callRecords: async () => {
      const ccdr = core.ccdr;
      if (!ccdr) return { ok: true, off: 'CCDR_ODBC_CONNECTION / CCDR_SQLITE_PATH not set' };
      const nodes = ccdr instanceof FailoverCcdrSource ? ccdr.status() : {};
      try {
        await withQueryDeadline(ccdr.ping(), 3000);
        return { ok: true, reachable: true, ...nodes };
      } catch (err) {
        return { ok: true, reachable: false, error: (err as Error).message.slice(0, 300), ...nodes };
      }
    },
    // Reported, not fatal: without the rollup the reports read the call records directly.
    statsRollup: () => (n.statsRollup ? { ok: true, ...n.statsRollup.status() } : { ok: true, off: 'no call records, or STATS_ROLLUP_REFRESH_S=0' }),
  };
}

import type { CrmEntityType, CrmMatch, CrmUser } from '../bitrix24/crm-types';
export type { CrmEntityType, CrmMatch, CrmUser };

/**
 * Which CRM record owns a caller, and where the call goes. Pure: the adapter hands us matches and users in our
 * own shapes. The rule, in order (docs/uccx.md "Which record wins"):
 *   1. contact, then lead, then company (Bitrix24's own searchCrmEntities order);
 *   2. a record whose responsible user can take the call (active, with an extension);
 *   3. the most recently created record (highest id).
 * The chosen record's responsible gets the call when active with an extension; otherwise the queue.
 */
export interface Routing {
  match: CrmMatch;
  /** The user who gets the call, or null: route to the queue. */
  agent: CrmUser | null;
}

const TYPE_RANK: Record<CrmEntityType, number> = { CONTACT: 0, LEAD: 1, COMPANY: 2 };

export function canTakeCalls(user: CrmUser | undefined): user is CrmUser {
  return Boolean(user && user.active && user.extension);
}

/** The candidates worth resolving users for: the best-ranked type only, newest first, at most `limit`. */
export function candidates(matches: CrmMatch[], limit = 5): CrmMatch[] {
  if (matches.length === 0) return [];
  const bestRank = Math.min(...matches.map((m) => TYPE_RANK[m.type]));
  return matches
    .filter((m) => TYPE_RANK[m.type] === bestRank)
    .sort((a, b) => b.id - a.id)
    .slice(0, limit);
}

/** All matches in the order of the rule, best first. */
export function rankMatches(matches: CrmMatch[], users: ReadonlyMap<number, CrmUser>): CrmMatch[] {
  return [...matches].sort((a, b) => {
    const byType = TYPE_RANK[a.type] - TYPE_RANK[b.type];
    if (byType !== 0) return byType;
    const routable = (m: CrmMatch) => (canTakeCalls(m.responsibleId === null ? undefined : users.get(m.responsibleId)) ? 0 : 1);
    const byRoutable = routable(a) - routable(b);
    return byRoutable !== 0 ? byRoutable : b.id - a.id;
  });
}

export function chooseRouting(matches: CrmMatch[], users: ReadonlyMap<number, CrmUser>): Routing | null {
  const match = rankMatches(matches, users)[0];
  if (!match) return null;
  const owner = match.responsibleId === null ? undefined : users.get(match.responsibleId);
  return { match, agent: canTakeCalls(owner) ? owner : null };
}

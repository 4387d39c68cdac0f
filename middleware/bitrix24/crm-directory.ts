import type { CrmEntityType, CrmMatch, CrmUser } from './crm-types';
import { OperatingLimitError } from './errors';
import type { Bitrix24Client } from './rest-client';

/**
 * The CRM as the lookup needs it, in our shapes: who has this phone, who is this user, add a lead.
 * Nothing past this file speaks ASSIGNED_BY_ID or UF_PHONE_INNER.
 *
 * A real portal's `telephony.externalCall.searchCrmEntities` gives at most one record per type — the oldest — and
 * matches only the duplicate-index form of the one number it is given (conformance/bitrix24). So application mode
 * asks it for every variant of the number AND asks `crm.duplicate.findbycomm` per type for every record, all in one
 * batch (one HTTP request: the client batches calls made together); only records findbycomm found that no search
 * described (several customers on one number) cost a second request for their responsible. Webhook mode asks
 * findbycomm per type (a type with ≥ 20 matches hides the others), then the records' responsible users.
 * While Bitrix24 blocks one of the two search methods for its operating time (429 OPERATION_TIME_LIMIT), the other
 * answers alone, so a known caller still reaches the agent.
 */
export interface NewLead {
  title: string;
  e164: string;
  responsibleId: number;
  originId: string | null;
}

const TYPES: CrmEntityType[] = ['CONTACT', 'LEAD', 'COMPANY'];
/** ORIGINATOR_ID of every lead we create: with ORIGIN_ID it finds a lead whose creation never answered. */
const ORIGINATOR = 'finesse-bitrix24';
const isType = (t: unknown): t is CrmEntityType => typeof t === 'string' && (TYPES as string[]).includes(t);
const toInt = (v: unknown): number | null => {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : null;
};

export class CrmDirectory {
  constructor(private readonly client: Bitrix24Client) {}

  async findByPhone(variants: string[], signal?: AbortSignal): Promise<CrmMatch[]> {
    if (this.client.mode !== 'app') {
      // A method blocked for its operating time: searchCrmEntities answers who owns the number (the oldest record
      // per type rather than every record — the same owner unless several customers share the number).
      return this.findByComm(variants, TYPES, signal).catch((err: unknown) => (err instanceof OperatingLimitError ? this.searchAll(variants, signal) : Promise.reject(err)));
    }
    const blockedAsNull = <T>(p: Promise<T>) => p.catch((err: unknown) => (err instanceof OperatingLimitError ? null : Promise.reject(err)));
    const [searched, ids] = await Promise.all([blockedAsNull(this.searchAll(variants, signal)), blockedAsNull(this.idsByComm(variants, TYPES, signal))]);
    if (searched === null && ids === null) return this.findByComm(variants, TYPES, signal); // both blocked: says so
    const known = new Map<string, CrmMatch>();
    for (const m of searched ?? []) known.set(`${m.type}:${m.id}`, m);
    const missing = (ids ?? []).filter(({ type, id }) => !known.has(`${type}:${id}`));
    for (const m of await this.records(missing, signal)) known.set(`${m.type}:${m.id}`, m);
    return [...known.values()];
  }

  /** searchCrmEntities for every variant of the number (one request: the client batches them). */
  private async searchAll(variants: string[], signal?: AbortSignal): Promise<CrmMatch[]> {
    const found = await Promise.all(variants.map((v) => this.searchCrmEntities(v, signal)));
    const unique = new Map(found.flat().map((m) => [`${m.type}:${m.id}`, m]));
    return [...unique.values()];
  }

  /** One variant as Bitrix24 takes it: the E.164 form with "+", a national one as digits (both index-normalised there). */
  private async searchCrmEntities(phone: string, signal?: AbortSignal): Promise<CrmMatch[]> {
    const result = await this.client.call<unknown>('telephony.externalCall.searchCrmEntities', { PHONE_NUMBER: phone }, { signal });
    if (!Array.isArray(result)) return [];
    const matches: CrmMatch[] = [];
    for (const r of result as Array<Record<string, unknown>>) {
      const id = toInt(r.CRM_ENTITY_ID);
      if (isType(r.CRM_ENTITY_TYPE) && id !== null) {
        matches.push({ type: r.CRM_ENTITY_TYPE, id, responsibleId: toInt(r.ASSIGNED_BY_ID), name: typeof r.NAME === 'string' ? r.NAME.trim() : '' });
      }
    }
    return matches;
  }

  /** A record's name as the agent should see it (a company's or deal's TITLE, a person's name); '' if none. */
  async recordName(type: CrmEntityType, id: number, signal?: AbortSignal): Promise<string> {
    const [rec] = await this.records([{ type, id }], signal);
    return rec?.name ?? '';
  }

  /** Per-type findbycomm, then the records' ASSIGNED_BY_ID. */
  async findByComm(variants: string[], types: CrmEntityType[], signal?: AbortSignal): Promise<CrmMatch[]> {
    return this.records(await this.idsByComm(variants, types, signal), signal);
  }

  /** Every record of these types with one of these numbers (Bitrix24's duplicate index), per type in one call each. */
  private async idsByComm(variants: string[], types: CrmEntityType[], signal?: AbortSignal): Promise<Array<{ type: CrmEntityType; id: number }>> {
    const found = await Promise.all(
      types.map(async (type) => {
        const r = await this.client.call<unknown>('crm.duplicate.findbycomm', { type: 'PHONE', values: variants.slice(0, 20), entity_type: type }, { signal });
        // No match is `[]`, a match is {"CONTACT": [42, 97]}.
        const ids = r && !Array.isArray(r) && typeof r === 'object' ? (r as Record<string, unknown>)[type] : undefined;
        return Array.isArray(ids)
          ? ids
              .map(toInt)
              .filter((n): n is number => n !== null)
              .map((id) => ({ type, id }))
          : [];
      }),
    );
    return found.flat();
  }

  /** The records' responsible and name. */
  private records(refs: Array<{ type: CrmEntityType; id: number }>, signal?: AbortSignal): Promise<CrmMatch[]> {
    return Promise.all(
      refs.map(async ({ type, id }) => {
        const rec = await this.client.call<Record<string, unknown> | null>(`crm.${type.toLowerCase()}.get`, { id }, { signal });
        return { type, id, responsibleId: toInt(rec?.ASSIGNED_BY_ID), name: nameOf(rec) };
      }),
    );
  }

  async getUser(id: number, signal?: AbortSignal): Promise<CrmUser | null> {
    const r = await this.client.call<unknown>('user.get', { FILTER: { ID: id } }, { signal });
    const u = Array.isArray(r) ? (r[0] as Record<string, unknown> | undefined) : undefined;
    if (!u) return null;
    const ext = typeof u.UF_PHONE_INNER === 'string' ? u.UF_PHONE_INNER.trim() : '';
    return { id, active: u.ACTIVE === true || u.ACTIVE === 'Y' || u.ACTIVE === 'true', extension: ext || null };
  }

  /** Every user's internal number (UF_PHONE_INNER), active or not: user.get pages of 50 by `start`, sorted by ID. */
  async internalNumbers(signal?: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    for (let start = 0; ; start += 50) {
      const page = await this.client.call<unknown>('user.get', { sort: 'ID', order: 'ASC', start }, { signal });
      const users = Array.isArray(page) ? (page as Array<Record<string, unknown>>) : [];
      for (const u of users) if (typeof u.UF_PHONE_INNER === 'string' && u.UF_PHONE_INNER.trim()) out.push(u.UF_PHONE_INNER.trim());
      if (users.length < 50) return out;
    }
  }

  /** The active user whose internal number (UF_PHONE_INNER) is this extension. */
  async userByExtension(extension: string, signal?: AbortSignal): Promise<number | null> {
    const r = await this.client.call<unknown>('user.get', { FILTER: { UF_PHONE_INNER: extension, ACTIVE: true } }, { signal });
    const u = Array.isArray(r) ? (r[0] as Record<string, unknown> | undefined) : undefined;
    return toInt(u?.ID);
  }

  async addLead(lead: NewLead): Promise<number> {
    const fields: Record<string, unknown> = {
      TITLE: lead.title,
      PHONE: [{ VALUE: lead.e164, VALUE_TYPE: 'WORK' }],
      SOURCE_ID: 'CALL',
      ASSIGNED_BY_ID: lead.responsibleId,
      ORIGINATOR_ID: ORIGINATOR,
    };
    if (lead.originId) fields.ORIGIN_ID = lead.originId;
    const id = toInt(await this.client.call<unknown>('crm.lead.add', { fields, params: { REGISTER_SONET_EVENT: 'Y' } }));
    if (id === null) throw new Error('crm.lead.add returned no id');
    return id;
  }

  /** The leads we created with this ORIGIN_ID marker (ORIGINATOR_ID ours): a write whose answer never came. */
  async leadsByOrigin(originId: string): Promise<number[]> {
    const rows = await this.client.call<unknown>('crm.lead.list', { filter: { ORIGIN_ID: originId, ORIGINATOR_ID: ORIGINATOR }, select: ['ID'] });
    return (Array.isArray(rows) ? rows : []).map((r) => toInt((r as { ID?: unknown }).ID)).filter((n): n is number => n !== null);
  }

  /** `probe`: the one request that goes out while the portal is known to be gone or moved (portal-state.ts). */
  async serverTime(signal?: AbortSignal, probe = false): Promise<string> {
    return String(await this.client.call<unknown>('server.time', {}, { signal, probe }));
  }
}

/** The record's TITLE (companies, leads), else the person's NAME LAST_NAME, as Bitrix24 lists them. */
function nameOf(rec: Record<string, unknown> | null | undefined): string {
  const person = [rec?.NAME, rec?.LAST_NAME].filter((v) => typeof v === 'string' && v).join(' ');
  const name = [rec?.TITLE, person].find((v) => typeof v === 'string' && v.trim());
  return typeof name === 'string' ? name.trim() : '';
}

import { RestError, type EntityType } from '../portal';
import { entityRow } from './rows';
import type { Method, MethodTable, Params } from './types';

const get: Method = ({ state, method, p }) => {
  const e = state.portal.get(method.split('.')[1]!.toUpperCase() as EntityType, Number(p.id ?? p.ID));
  if (!e) throw new RestError(400, '', 'Not found');
  return entityRow(e);
};

/**
 * As b24restdocs describe list methods: filter with ">ID"-style prefixes, order by ID, at most 50 rows; with
 * start=-1 no total is counted (settings/performance/huge-data.md, the way to read everything).
 */
const list: Method = ({ state, method, p }) => {
  const filter = (p.filter ?? p.FILTER ?? {}) as Params;
  const order = (p.order ?? p.ORDER ?? {}) as Params;
  const id = (op: string) => (filter[`${op}ID`] === undefined ? null : Number(filter[`${op}ID`]));
  const [gt, ge, lt, le, eq] = [id('>'), id('>='), id('<'), id('<='), id('')];
  const rows = state.portal
    .list(method.split('.')[1]!.toUpperCase() as EntityType)
    .filter((e) => filter.ORIGIN_ID === undefined || e.ORIGIN_ID === String(filter.ORIGIN_ID))
    .filter((e) => filter.ORIGINATOR_ID === undefined || e.ORIGINATOR_ID === String(filter.ORIGINATOR_ID))
    .filter((e) => (gt === null || e.ID > gt) && (ge === null || e.ID >= ge) && (lt === null || e.ID < lt) && (le === null || e.ID <= le) && (eq === null || e.ID === eq));
  if (String(order.ID ?? order.id ?? 'ASC').toUpperCase() === 'DESC') rows.reverse();
  const start = Math.max(0, Number(p.start ?? 0));
  return rows.slice(start, start + 50).map(entityRow);
};

/** crm.*: duplicate search by phone, reading and listing records, adding a lead. */
export const crmMethods: MethodTable = {
  'crm.duplicate.findbycomm': ({ state, p }) => {
    if (!p.type) throw new RestError(400, '', 'Communication type is not defined.');
    if (p.type !== 'PHONE' && p.type !== 'EMAIL') throw new RestError(400, '', `Communication type '${String(p.type)}' is not supported in current context.`);
    const values = ([] as unknown[]).concat(p.values ?? []).map(String);
    if (values.length === 0) throw new RestError(400, '', 'Communication values is not defined.');
    const types = p.entity_type ? [String(p.entity_type) as EntityType] : (['CONTACT', 'COMPANY', 'LEAD'] as EntityType[]);
    const found: Record<string, number[]> = {};
    for (const t of types) {
      const ids = state.portal.findByPhone(t, values.slice(0, 20));
      if (ids.length) found[t] = ids;
      if (ids.length >= 20) break; // a type with ≥ 20 matches hides the others
    }
    return Object.keys(found).length ? found : [];
  },
  'crm.contact.get': get,
  'crm.lead.get': get,
  'crm.company.get': get,
  'crm.contact.list': list,
  'crm.company.list': list,
  'crm.lead.list': list,
  'crm.lead.add': ({ state, p, auth }) => {
    const f = (p.fields ?? {}) as Params;
    const phones = ([] as unknown[]).concat(f.PHONE ?? []).map((x) => String((x as Params).VALUE ?? ''));
    const owner = Number(f.ASSIGNED_BY_ID ?? auth.userId);
    if (!state.portal.users.has(owner)) throw new RestError(400, '', 'Responsible user not found.');
    const e = state.portal.addEntity('LEAD', {
      TITLE: String(f.TITLE ?? ''),
      ASSIGNED_BY_ID: owner,
      phones,
      SOURCE_ID: String(f.SOURCE_ID ?? ''),
      ORIGIN_ID: String(f.ORIGIN_ID ?? ''),
      ORIGINATOR_ID: String(f.ORIGINATOR_ID ?? ''),
    });
    setImmediate(() => void state.crmChanged('LEAD', e.ID, 'ADD'));
    return e.ID;
  },
};

import { readFileSync } from 'node:fs';
import qs from 'qs';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CrmDirectory } from '../../middleware/bitrix24/crm-directory';
import { PortalCheck } from '../../middleware/bitrix24/portal-check';
import type { Bitrix24Client } from '../../middleware/bitrix24/rest-client';
import { normalisePhone, type PhoneRules } from '../../middleware/lookup/phone-number';
import { parseCallStart } from '../../middleware/routes/event-routes';
import { IndexSync } from '../../middleware/lookup/index-sync';
import { OfflineEventReader, recordChangeOf, type OfflineEvent } from '../../middleware/lookup/offline-events';
import pino from 'pino';
import { PhoneIndex } from '../../middleware/lookup/phone-index';
import { Bitrix24Emulator } from '../../scripts/lab/bitrix24-emulator/server';

/** The product against real Bitrix24 material and real-world numbers (INDEX.md says where each comes from). */
const here = (p: string) => readFileSync(join(__dirname, p), 'utf8');

const SITES: Record<string, PhoneRules> = {
  RU: { countryCode: '7', nationalLength: 10, trunkPrefix: '8', outsidePrefixes: [] },
  RU9: { countryCode: '7', nationalLength: 10, trunkPrefix: '8', outsidePrefixes: ['9'] },
  DE: { countryCode: '49', nationalLength: 10, trunkPrefix: '0', outsidePrefixes: [] },
};

const FORMATS = here('phone-formats.tsv')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => l.split('\t') as [string, string, string, string, string]);

describe('Bitrix24 conformance: numbers as people type them (phone-formats.tsv)', () => {
  it('holds at least 200 formats', () => expect(FORMATS.length).toBeGreaterThanOrEqual(200));

  it.each(FORMATS)('%s %s → %s (national %s): %s', (site, typed, e164, national) => {
    const r = normalisePhone(typed, SITES[site]!);
    if (!e164) return expect(r.ok).toBe(false);
    expect(r).toMatchObject({ ok: true, phone: { e164 } });
    if (r.ok) expect(r.phone.variants).toEqual(national ? [e164, national] : [e164]);
  });
});

const doc = (name: string) => JSON.parse(here(`docs/${name}`)) as { result: unknown };

/** A client that answers each method with what the docs show a portal answering. */
function docClient(answers: Record<string, unknown>, mode: 'app' | 'webhook' = 'app'): { client: Bitrix24Client; asked: Array<[string, unknown]> } {
  const asked: Array<[string, unknown]> = [];
  const client = {
    mode,
    call: async (method: string, params: unknown) => {
      asked.push([method, params]);
      if (!(method in answers)) throw new Error(`no documented answer for ${method}`);
      return answers[method];
    },
  } as unknown as Bitrix24Client;
  return { client, asked };
}

describe("Bitrix24 conformance: the docs' examples (bitrix24/b24restdocs) through our adapter", () => {
  it('searchCrmEntities (at most one record per type) and findbycomm (every record) together find each customer once', async () => {
    const { client, asked } = docClient({
      'telephony.externalCall.searchCrmEntities': doc('search-crm-entities-response.json').result,
      'crm.duplicate.findbycomm': doc('duplicate-findbycomm-response.json').result, // {"CONTACT": [275, 2297]}
      'crm.contact.get': { ID: '275', NAME: 'Anna', LAST_NAME: 'Older', ASSIGNED_BY_ID: '7' },
    });
    const found = await new CrmDirectory(client).findByPhone(['+19062195047', '9062195047']);
    const key = (m: { type: string; id: number }) => `${m.type}:${m.id}`;
    // The documented search gives CONTACT 651 and COMPANY 643; findbycomm adds contacts 275 and 2297.
    expect(found.map(key).sort()).toEqual(['COMPANY:643', 'CONTACT:2297', 'CONTACT:275', 'CONTACT:651'].sort());
    expect(found.find((m) => m.id === 651)).toMatchObject({ responsibleId: 99, name: 'John Doe' });
    // Every variant was searched; findbycomm got all variants per type.
    expect(asked.filter(([m]) => m === 'telephony.externalCall.searchCrmEntities').map(([, p]) => p)).toEqual([{ PHONE_NUMBER: '+19062195047' }, { PHONE_NUMBER: '9062195047' }]);
    expect(asked.filter(([m]) => m === 'crm.duplicate.findbycomm').map(([, p]) => (p as { entity_type: string }).entity_type)).toEqual(['CONTACT', 'LEAD', 'COMPANY']);
  });

  it('the documented ONEXTERNALCALLSTART delivery is read (call id, user, both numbers)', () => {
    const delivery = doc('on-external-call-start-delivery.json') as unknown as { data: Record<string, string> };
    expect(parseCallStart(delivery.data)).toEqual({ callId: 'externalCall.89350264e026dace3f2b14d1f438257c.1773236989', userId: 1269, phone: '+494951234567', phoneInternational: '+494951234567' });
  });

  it('app.info and user.admin as documented: a marketplace code is not our client_id; a true admin answer is', async () => {
    const answers: Record<string, unknown> = { 'app.info.json': doc('app-info-response.json'), 'user.admin.json': doc('user-admin-response.json') };
    const server = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answers[(req.url ?? '').split('/').pop()!] ?? { error: 'ERROR_METHOD_NOT_FOUND' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const check = new PortalCheck(`http://127.0.0.1:${(server.address() as AddressInfo).port}/rest/`, 2000);
      expect(await check.adminOfApp('token-of-an-admin', 'telefum24.kp10')).toBe(true);
      expect(await check.adminOfApp('token-of-an-admin', 'local.ours.123')).toBe(false);
    } finally {
      server.close();
    }
  });
});

describe('Bitrix24 conformance: offline events as documented, through our reader', () => {
  it('the documented event (EVENT_DATA false) names no record: the reader counts it and asks for a full read; FIELDS.ID names one', async () => {
    const documented = (doc('event-offline-get-response.json').result as { events: OfflineEvent[] }).events;
    expect(recordChangeOf(documented[0]!)).toBeNull();
    expect(recordChangeOf({ ...documented[0]!, EVENT_NAME: 'ONCRMLEADDELETE', EVENT_DATA: { FIELDS: { ID: '1' } } })).toEqual({ type: 'LEAD', id: 1, deleted: true });
    const queued: unknown[] = [];
    let fullReads = 0;
    const reader = new OfflineEventReader({
      fetch: async () => doc('event-offline-get-response.json').result as { events: OfflineEvent[] },
      queue: async (c) => void queued.push(c),
      unnamed: () => (fullReads += 1),
      log: pino({ level: 'silent' }),
    });
    expect(await reader.readOnce()).toBe(1);
    expect([queued, fullReads, reader.counts]).toEqual([[], 1, { read: 1, unnamed: 1 }]);
  });
});

describe('Bitrix24 conformance: the lab emulator against the docs', () => {
  let e: Bitrix24Emulator;
  beforeAll(async () => {
    e = new Bitrix24Emulator();
    await e.start();
  });
  afterAll(() => e.stop());
  const call = async (method: string, params: Record<string, unknown>) => {
    const { accessToken } = e.issueTokens();
    const res = await fetch(`${e.url}/rest/${method}.json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ auth: accessToken, ...params }) });
    return (await res.json()) as { result: unknown };
  };
  const shape = (v: unknown): unknown =>
    Array.isArray(v) ? shape(v[0]) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)])) : v === null ? 'null' : typeof v;

  it('searchCrmEntities: the documented fields and types, and at most one record per type — the oldest', async () => {
    e.portal.addEntity('CONTACT', { ID: 48, NAME: 'Second on the same phone', ASSIGNED_BY_ID: 6, phones: ['+7 912 345 67 89'] });
    const r = (await call('telephony.externalCall.searchCrmEntities', { PHONE_NUMBER: '+79123456789' })).result as Array<{ CRM_ENTITY_TYPE: string; CRM_ENTITY_ID: number }>;
    expect(r.map((x) => `${x.CRM_ENTITY_TYPE}:${x.CRM_ENTITY_ID}`)).toEqual(['CONTACT:42']);
    const documented = shape(doc('search-crm-entities-response.json').result) as Record<string, unknown>;
    const ours = shape(r) as Record<string, unknown>;
    expect(Object.keys(ours).sort()).toEqual(Object.keys(documented).sort());
    for (const k of ['CRM_ENTITY_TYPE', 'CRM_ENTITY_ID', 'ASSIGNED_BY_ID', 'NAME']) expect([k, ours[k]]).toEqual([k, documented[k]]);
    const both = (await call('crm.duplicate.findbycomm', { type: 'PHONE', values: ['+79123456789'], entity_type: 'CONTACT' })).result;
    expect(both).toEqual({ CONTACT: [42, 48] }); // findbycomm gives every record
  });

  it('crm.company.list: the documented row shape (ID and ASSIGNED_BY_ID strings, PHONE multi-fields), read by ID as the docs tell', async () => {
    const documented = shape(doc('company-list-response.json').result) as Record<string, unknown>;
    const rows = (await call('crm.company.list', { order: { ID: 'ASC' }, filter: { '>ID': 0 }, select: ['TITLE', 'ASSIGNED_BY_ID', 'PHONE'], start: -1 })).result as unknown[];
    const ours = shape(rows) as Record<string, unknown>;
    for (const k of Object.keys(documented)) expect([k, ours[k]]).toEqual([k, documented[k]]);
    // huge-data-select-all.md: ">ID" with the last ID read, start=-1, until fewer than 50.
    const after = (await call('crm.company.list', { order: { ID: 'ASC' }, filter: { '>ID': 12 }, select: ['ID'], start: -1 })).result as unknown[];
    expect(after).toEqual([]);
  });

  it('a CRM event is delivered as documented: event, event_handler_id, data[FIELDS][ID], ts, auth', async () => {
    const documented = doc('on-crm-contact-update-delivery.json') as Record<string, unknown>;
    const ours = qs.parse(e.eventForm('ONCRMCONTACTUPDATE', { FIELDS: { ID: '82' } })) as Record<string, unknown>;
    expect(Object.keys(ours).sort()).toEqual(Object.keys(documented).sort());
    expect(ours.data).toEqual(documented.data);
  });

  it('event.offline.get: the documented answer (process_id, events with their fields), the queue emptied by the default clear', async () => {
    const documented = doc('event-offline-get-response.json').result as { events: Array<Record<string, unknown>> };
    e.offlineBindings.add('ONCRMCONTACTUPDATE');
    e.offlineEventData = 'empty'; // as the documentation's example shows it
    await e.crmChanged('CONTACT', 42, 'UPDATE');
    const first = (await call('event.offline.get', {})).result as { process_id: unknown; events: Array<Record<string, unknown>> };
    expect(Object.keys(first).sort()).toEqual(Object.keys(documented).sort());
    expect(first.process_id).toBeNull();
    expect(Object.keys(first.events[0]!).sort()).toEqual(Object.keys(documented.events[0]!).sort());
    expect(first.events[0]).toMatchObject({ EVENT_NAME: 'ONCRMCONTACTUPDATE', EVENT_DATA: false });
    expect(((await call('event.offline.get', {})).result as { events: unknown[] }).events).toEqual([]);
    e.offlineBindings.clear();
    e.offlineEventData = 'fields';
  });

  it('telephony.externalCall.register with lead creation off answers as a real portal did: a CALL_ID, no lead, LEAD_CREATION_ERROR', async () => {
    const real = doc('register-lead-creation-error.json').result as Record<string, unknown>;
    const params = { USER_ID: 5, PHONE_NUMBER: '+79995550101', TYPE: 1, CRM_CREATE: 1, EXTERNAL_CALL_ID: 'conformance-1' };
    e.switches.leadCreation = 'disabled';
    const off = (await call('telephony.externalCall.register', params)).result as Record<string, unknown>;
    e.switches.leadCreation = 'on';
    expect(shape(off)).toEqual(shape(real));
    expect(off).toMatchObject({ CRM_CREATED_LEAD: null, CRM_ENTITY_TYPE: '', LEAD_CREATION_ERROR: real.LEAD_CREATION_ERROR });
    // Lead creation on: the same documented fields (without the error), the lead made.
    const on = (await call('telephony.externalCall.register', { ...params, PHONE_NUMBER: '+79995550102', EXTERNAL_CALL_ID: 'conformance-2' })).result as Record<string, unknown>;
    const { LEAD_CREATION_ERROR: _none, ...documented } = real;
    expect(Object.keys(on).sort()).toEqual(Object.keys(documented).sort());
    expect(on).toMatchObject({ CRM_ENTITY_TYPE: 'LEAD', CRM_CREATED_LEAD: expect.any(Number) });
  });

  it('event.get and scope answer in the documented shapes', async () => {
    e.bindings.set('ONEXTERNALCALLSTART', new Set(['https://cti.example/bitrix/events']));
    const bound = shape((await call('event.get', {})).result) as Record<string, unknown>;
    expect(bound).toEqual(shape(doc('event-get-response.json').result));
    e.bindings.delete('ONEXTERNALCALLSTART');
    expect(shape((await call('scope', {})).result)).toEqual(shape(doc('scope-response.json').result));
  });

  it('placement.bind and placement.get answer in the documented shapes (TELEPHONY_ANALYTICS_MENU keeps no options)', async () => {
    const bind = { PLACEMENT: 'TELEPHONY_ANALYTICS_MENU', HANDLER: 'https://cti.example/bitrix/app', TITLE: 't', LANG_ALL: { de: { TITLE: 'T', DESCRIPTION: '', GROUP_NAME: 'G' } } };
    expect((await call('placement.bind', bind)).result).toEqual(doc('placement-bind-response.json').result);
    const listed = (await call('placement.get', {})).result as Array<Record<string, unknown>>;
    const documented = (doc('placement-get-response.json').result as Array<Record<string, unknown>>)[0]!;
    expect(shape(listed[0])).toEqual(shape(documented));
    expect(listed[0]).toMatchObject({ placement: 'TELEPHONY_ANALYTICS_MENU', handler: bind.HANDLER, options: [] });
    expect(await call('placement.bind', { HANDLER: bind.HANDLER })).toEqual({ error: 'ERROR_ARGUMENT', error_description: "Argument 'PLACEMENT' is null or empty" });
    await call('placement.unbind', { PLACEMENT: 'TELEPHONY_ANALYTICS_MENU' });
  });

  it('app.info and user.admin answer with the documented fields', async () => {
    const info = (await call('app.info', {})).result as Record<string, unknown>;
    expect(Object.keys(info).sort()).toEqual(Object.keys(doc('app-info-response.json').result as object).sort());
    expect((await call('user.admin', {})).result).toBe(true);
  });
});

describe('Bitrix24 conformance: the phone index reads the documented list answer', () => {
  const rules: PhoneRules = { countryCode: '7', nationalLength: 10, trunkPrefix: '8', outsidePrefixes: [] };
  it('takes a company, its responsible and its number from crm.company.list as documented', async () => {
    const index = new PhoneIndex(':memory:', rules);
    try {
      const documented = doc('company-list-response.json').result as Array<Record<string, unknown>>;
      const counters = { requests: 0 };
      const client = {
        counters,
        call: async (method: string, params: Record<string, unknown>) => {
          counters.requests += 1;
          if (method === 'user.get') return [];
          if (method !== 'crm.company.list') return [];
          const filter = (params.filter ?? {}) as Record<string, number>;
          if ((params.order as { ID: string }).ID === 'DESC') return documented.map((r) => ({ ID: r.ID }));
          return documented.filter((r) => Number(r.ID) > filter['>ID']! && Number(r.ID) <= filter['<=ID']!);
        },
      } as unknown as Bitrix24Client;
      await new IndexSync(client, index).run();
      const n = normalisePhone('+1 999 888-77-66', rules);
      expect(n.ok && index.find(n.phone)).toEqual([{ type: 'COMPANY', id: 2919, responsibleId: 811, name: 'Crossroads' }]);
    } finally {
      index.close();
    }
  });
});

import { LAB_UCCX_TOKEN, startStack, type Stack } from '../../scripts/lab/lab-stack';
import { RestError } from '../../scripts/lab/bitrix24-emulator/portal';
import { uccxLookup } from '../../testing/lookup-client';
import { normalisePhone } from '../../middleware/lookup/phone-number';

/**
 * The local phone index against the Bitrix24 emulator: a full read, known callers routed while Bitrix24 is down
 * with the answer Bitrix24 itself gave, unknown numbers still searched, and a partial read never served.
 */
const token = LAB_UCCX_TOKEN;
const KNOWN = ['89123456789', '88125551122', '89152223344', '79001112233', '84951112233', '88125550000'];

describe('local phone index', () => {
  let stack: Stack;
  afterEach(() => stack?.stop());
  /** A middleware with the index, once its first (automatic) read is complete. */
  const start = async () => {
    // No cache of answers: every lookup shows what the index (or Bitrix24) says now.
    stack = await startStack({ mode: 'app', env: { PHONE_INDEX_SYNC_S: '3600', LOOKUP_CACHE_TTL_S: '0' } });
    const index = stack.connector.phoneIndex!;
    const end = Date.now() + 20_000;
    while (index.state().gen === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    return stack.connector.indexSync!;
  };
  const answer = async (ani: string, on: Stack = stack) => {
    const a = await uccxLookup(on.url, { ani, token });
    const f = a.fields;
    return { route: f.route, extension: f.extension, entity: `${f.entityType}:${f.entityId}`, status: f.status, reason: f.reason };
  };

  it('reads every record and user in a few batched requests, as b24restdocs tell to read everything', async () => {
    const sync = await start();
    const state = stack.connector.phoneIndex!.state();
    const portal = stack.emulator.portal;
    expect(state).toMatchObject({ records: portal.entities.size, users: portal.users.size, building: null, lastError: null });
    expect(state.gen).toBeGreaterThan(0);
    // Users (one page), and per type: the highest ID, then one batch per 2,500 IDs.
    expect(sync.requests).toBe(1 + 3 * 2);
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^phone_index_records ${portal.entities.size}$`, 'm'));
    expect(metrics).toMatch(/^phone_index_complete 1$/m);
    const ready = await (await fetch(`${stack.url}/readyz`, { headers: { authorization: `Bearer ${token}` } })).json();
    expect(ready.checks.phoneIndex).toMatchObject({ ok: true, complete: true, records: portal.entities.size, users: portal.users.size, building: null, lastError: null });
    // The highest ID, then one call per range of 50 IDs up to it — each range holds at most 50 records: none is cut.
    const maxContact = Math.max(...portal.list('CONTACT').map((e) => e.ID));
    expect(stack.emulator.counters.received['crm.contact.list']).toBe(1 + Math.ceil(maxContact / 50));
  });

  it('routes known callers while Bitrix24 is down, as Bitrix24 itself routed them', async () => {
    // Bitrix24's own answers: the same portal, a middleware without the index.
    const plain = await startStack({ mode: 'app', env: { LOOKUP_CACHE_TTL_S: '0' } });
    const before = [];
    try {
      for (const ani of KNOWN) before.push(await answer(ani, plain));
    } finally {
      await plain.stop();
    }
    await start(); // built by itself once installed: a first start
    stack.emulator.switches.outage = 'error';
    const during = [];
    for (const ani of KNOWN) during.push(await answer(ani));
    expect(during).toEqual(before);
    expect(during.every((a) => a.status === 'found')).toBe(true);
    // An unknown number is still a question for Bitrix24 (down: the queue, a lead follows later).
    expect(await answer('89990001122')).toMatchObject({ route: 'queue', status: 'degraded' });
  });

  it('searches Bitrix24 for a number it does not know (a record created after the read gets no duplicate lead)', async () => {
    await start();
    stack.emulator.portal.addEntity('CONTACT', { ID: 900, NAME: 'Just Created', ASSIGNED_BY_ID: 5, phones: ['+7 917 000-00-01'] });
    expect(await answer('89170000001')).toMatchObject({ entity: 'CONTACT:900', status: 'found', route: 'agent' });
    expect(stack.emulator.counters.calls['crm.lead.add'] ?? 0).toBe(0);
    // And from now on the index knows it too.
    stack.emulator.switches.outage = 'error';
    expect(await answer('89170000001')).toMatchObject({ entity: 'CONTACT:900', route: 'agent' });
  });

  it('a reassigned record routes to the new owner once a lookup has confirmed it with Bitrix24', async () => {
    await start();
    const owner = (ani: string) => answer(ani).then((a) => a.extension);
    expect(await owner('89123456789')).toBe(stack.emulator.portal.users.get(5)!.UF_PHONE_INNER);
    stack.emulator.portal.get('CONTACT', 42)!.ASSIGNED_BY_ID = 6;
    // Answers come from the index; the confirmations of lookups bring the change in.
    const newOwner = stack.emulator.portal.users.get(6)!.UF_PHONE_INNER;
    const end = Date.now() + 20_000;
    while ((await owner('89123456789')) !== newOwner && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(await owner('89123456789')).toBe(newOwner);
  });

  it('never serves a half-read index: the last complete one answers; the next read resumes where this one stopped', async () => {
    const sync = await start();
    const served = stack.connector.phoneIndex!.state().gen;
    stack.emulator.portal.get('CONTACT', 42)!.ASSIGNED_BY_ID = 6; // read by the new read, which stops before its end
    stack.emulator.switches.failNext.set('crm.lead.list', new RestError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error'));
    await expect(sync.run()).rejects.toThrow();
    const half = stack.connector.phoneIndex!.state();
    expect(half.gen).toBe(served);
    expect(half.building?.cursor).toMatchObject({ USER: expect.any(Number), CONTACT: expect.any(Number), COMPANY: expect.any(Number) });
    stack.emulator.switches.outage = 'error';
    const owner5 = stack.emulator.portal.users.get(5)!.UF_PHONE_INNER;
    expect(await answer('89123456789')).toMatchObject({ route: 'agent', extension: owner5 }); // the complete index, not the half one
    stack.emulator.switches.outage = 'none';
    const contactsBefore = stack.emulator.counters.received['crm.contact.list'] ?? 0;
    const done = await sync.run();
    expect(done.gen).toBe(half.building!.gen);
    expect(stack.emulator.counters.received['crm.contact.list']).toBe(contactsBefore); // contacts were not read again
  });

  it("takes Bitrix24's events at once: a number changed, a record deleted, a lead added", async () => {
    await start();
    expect([...stack.emulator.bindings.keys()]).toEqual(expect.arrayContaining(['ONCRMCONTACTUPDATE', 'ONCRMCONTACTDELETE', 'ONCRMLEADADD', 'ONCRMCOMPANYADD']));
    const contact = stack.emulator.portal.get('CONTACT', 42)!;
    contact.PHONE = [{ ID: 9001, VALUE: '+7 926 111-22-33', VALUE_TYPE: 'WORK' }];
    expect(await stack.emulator.crmChanged('CONTACT', 42, 'UPDATE')).toEqual([200]);
    await stack.connector.settled();
    stack.emulator.switches.outage = 'error'; // from here on only the index answers
    expect(await answer('89261112233')).toMatchObject({ entity: 'CONTACT:42', route: 'agent' });
    expect(await answer('89123456789')).toMatchObject({ route: 'queue', status: 'degraded' }); // the old number is gone
    stack.emulator.switches.outage = 'none';
    stack.emulator.portal.entities.delete('CONTACT:43');
    await stack.emulator.crmChanged('CONTACT', 43, 'DELETE');
    await stack.connector.settled();
    const index = stack.connector.phoneIndex!;
    const pavel = normalisePhone('84951112233', stack.connector.config.phone);
    expect(pavel.ok && index.find(pavel.phone)).toEqual([]);
    // A new caller's lead, made by the middleware: Bitrix24's ONCRMLEADADD brings it into the index.
    await answer('89165550011'); // the lead comes now or, if the answer could not wait, from the outbox
    const caller = normalisePhone('89165550011', stack.connector.config.phone);
    const end = Date.now() + 20_000;
    while (caller.ok && !index.find(caller.phone)?.length && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    const lead = stack.emulator.portal.leadsWithPhone('+79165550011');
    expect(lead).toHaveLength(1);
    expect(caller.ok && index.find(caller.phone)).toEqual([expect.objectContaining({ type: 'LEAD', id: lead[0]!.ID })]);
  });
});

describe('local phone index fed by offline events (a middleware Bitrix24 cannot reach)', () => {
  let stack: Stack;
  afterEach(() => stack?.stop());
  const answer = async (ani: string) => {
    const a = await uccxLookup(stack.url, { ani, token });
    return { route: a.fields.route, entity: `${a.fields.entityType}:${a.fields.entityId}`, status: a.fields.status };
  };
  const start = async () => {
    stack = await startStack({ mode: 'app', env: { PHONE_INDEX_SYNC_S: '3600', PHONE_INDEX_EVENTS: 'offline', LOOKUP_CACHE_TTL_S: '0' } });
    const index = stack.connector.phoneIndex!;
    const end = Date.now() + 20_000;
    while (index.state().gen === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(index.state().gen).toBeGreaterThan(0);
  };

  it('binds the CRM events offline (no handler), reads the queue, and the change reaches the index', async () => {
    await start();
    const e = stack.emulator;
    expect([...e.offlineBindings].sort()).toEqual(expect.arrayContaining(['ONCRMCONTACTUPDATE', 'ONCRMLEADADD', 'ONCRMCOMPANYDELETE']));
    expect([...e.bindings.keys()].filter((k) => k.startsWith('ONCRM'))).toEqual([]);
    const contact = e.portal.get('CONTACT', 42)!;
    contact.PHONE = [{ ID: 9001, VALUE: '+7 926 111-22-33', VALUE_TYPE: 'WORK' }];
    expect(await e.crmChanged('CONTACT', 42, 'UPDATE')).toEqual([]); // posted nowhere: queued at the portal
    await e.crmChanged('CONTACT', 42, 'UPDATE'); // changed again: still one record in the queue
    expect(e.offlineQueue.size).toBe(1);
    // The reader runs every 10 s; a test reads now instead of waiting for it (whichever read takes it, it is read once).
    await stack.connector.offlineEvents!.readOnce();
    const reader = stack.connector.offlineEvents!;
    const end = Date.now() + 20_000;
    while (reader.counts.read < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 25)); // the periodic read may hold it
    expect(e.offlineQueue.size).toBe(0);
    expect(reader.counts).toEqual({ read: 1, unnamed: 0 });
    await stack.connector.settled();
    e.switches.outage = 'error'; // from here on only the index answers
    expect(await answer('89261112233')).toMatchObject({ entity: 'CONTACT:42', route: 'agent' });
  });

  it('an offline event without the record id (as the documentation shows it) makes the index read everything again', async () => {
    await start();
    const e = stack.emulator;
    e.offlineEventData = 'empty';
    const gen = stack.connector.phoneIndex!.state().gen;
    const contact = e.portal.get('CONTACT', 42)!;
    contact.PHONE = [{ ID: 9002, VALUE: '+7 926 444-55-66', VALUE_TYPE: 'WORK' }];
    await e.crmChanged('CONTACT', 42, 'UPDATE');
    await stack.connector.offlineEvents!.readOnce();
    const reader = stack.connector.offlineEvents!;
    const read = Date.now() + 20_000;
    while (reader.counts.read < 1 && Date.now() < read) await new Promise((r) => setTimeout(r, 25)); // the periodic read may hold it
    expect(reader.counts).toMatchObject({ read: 1, unnamed: 1 });
    const end = Date.now() + 20_000;
    while (stack.connector.phoneIndex!.state().gen === gen && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(stack.connector.phoneIndex!.state().gen).toBeGreaterThan(gen);
    e.switches.outage = 'error';
    expect(await answer('89264445566')).toMatchObject({ entity: 'CONTACT:42', route: 'agent' });
  });
});

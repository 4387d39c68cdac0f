import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_UCCX_TOKEN, startStack, type Stack } from '../../scripts/lab/lab-stack';
import { renderXml } from '../../middleware/lookup/lookup-answer';
import { uccxLookup } from '../../testing/lookup-client';
import { AgentClient } from '../../testing/agent-client';

describe('UCCX lookup contract (/uccx/lookup, /api/lookup)', () => {
  let stack: Stack;
  let agent: AgentClient;
  beforeAll(async () => {
    stack = await startStack({ mode: 'app', finesse: { gadgetDir: mkdtempSync(join(tmpdir(), 'gd-')) } });
    agent = new AgentClient(stack.url, '1001', 'lab');
    expect((await agent.open()).status).toBe(200);
  });
  afterAll(() => stack.stop());
  const token = LAB_UCCX_TOKEN;
  /** /api/lookup as the gadget calls it: with its agent session. */
  const apiLookup = (phone: string, bearer = agent.token) => fetch(`${stack.url}/api/lookup?phone=${phone}`, { headers: { authorization: `Bearer ${bearer}` } });

  it('answers a known caller with the responsible agent as flat XML', async () => {
    const a = await uccxLookup(stack.url, { ani: '89123456789', callId: '16777217', token });
    expect(a.status).toBe(200);
    expect(a.contentType).toMatch(/^text\/xml/);
    expect(a.cacheControl).toBe('no-store');
    expect(a.body.startsWith('<?xml version="1.0" encoding="UTF-8"?><lookup>')).toBe(true);
    expect(a.fields).toMatchObject({ route: 'agent', extension: '1021', entityType: 'CONTACT', entityId: '42', crmRef: 'CONTACT:42', status: 'found', phone: '+79123456789' });
  });

  it('finds an existing customer whose number was stored without the country code (St Petersburg), in application mode', async () => {
    const leads = stack.emulator.leadCount();
    for (const ani of ['+78125551122', '88125551122', '8125551122']) {
      const a = await uccxLookup(stack.url, { ani, token });
      expect(a.fields).toMatchObject({ entityType: 'CONTACT', entityId: '49', status: 'found', route: 'agent', extension: '1021', phone: '+78125551122' });
    }
    expect(stack.emulator.leadCount()).toBe(leads); // no lead for an existing customer
  });

  it('accepts a form-encoded POST like Create URL Document with method POST', async () => {
    const a = await uccxLookup(stack.url, { ani: '+7 912 345-67-89', token }, 'POST');
    expect(a.fields).toMatchObject({ route: 'agent', extension: '1021' });
  });

  it.each([
    ['inactive responsible', '84951112233', { route: 'queue', extension: '', entityType: 'CONTACT', entityId: '43', status: 'found' }],
    ['responsible without extension', '79160001122', { route: 'queue', entityType: 'CONTACT', entityId: '44', status: 'found' }],
    ['contact before lead with the same phone', '79037778899', { route: 'agent', extension: '1022', entityType: 'CONTACT', entityId: '45' }],
    ['a lead', '9001112233', { route: 'agent', extension: '1022', entityType: 'LEAD', entityId: '310' }],
    ['a company', '+78125550000', { route: 'agent', extension: '1021', entityType: 'COMPANY', entityId: '12' }],
  ])('%s', async (_name, ani, expected) => {
    const a = await uccxLookup(stack.url, { ani, token });
    expect(a.fields).toMatchObject(expected);
  });

  it('creates a lead for an unknown caller, owned by the unprocessed user, with the call id as ORIGIN_ID', async () => {
    const a = await uccxLookup(stack.url, { ani: '+7 999 100-00-01', callId: 'sess-1', token });
    expect(a.fields).toMatchObject({ route: 'queue', entityType: 'LEAD', status: 'created' });
    const lead = stack.emulator.portal.get('LEAD', Number(a.fields.entityId))!;
    expect(lead).toMatchObject({ ASSIGNED_BY_ID: 9, SOURCE_ID: 'CALL', ORIGIN_ID: 'sess-1', TITLE: 'Входящий звонок +79991000001' });
    expect(lead.PHONE[0]!.VALUE).toBe('+79991000001');
    const again = await uccxLookup(stack.url, { ani: '89991000001', token });
    expect(again.fields).toMatchObject({ entityId: a.fields.entityId, status: 'created' });
    expect(stack.emulator.leadCount('+79991000001')).toBe(1);
  });

  it('lists every record of the winning type in the JSON, best first, for the gadget to offer a choice', async () => {
    const res = await apiLookup('89152223344');
    const body = await res.json();
    expect(body.matches).toEqual([
      { entityType: 'CONTACT', entityId: 47, name: 'Petr Semyonov' },
      { entityType: 'CONTACT', entityId: 46, name: 'Olga Semyonova' },
    ]);
    expect(body).toMatchObject({ entityType: 'CONTACT', entityId: 47, extension: '1022' });
    const single = await (await apiLookup('79037778899')).json();
    expect(single.matches).toEqual([{ entityType: 'CONTACT', entityId: 45, name: 'Dmitry Dvoinoi' }]); // the lead of the same phone is no choice
  });

  it('has a JSON twin for the gadget that answers signed-in agents only, never the UCCX token or anyone else', async () => {
    const res = await apiLookup('89123456789');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ route: 'agent', extension: '1021', entityType: 'CONTACT', entityId: 42, crmRef: 'CONTACT:42' });
    const leads = stack.emulator.leadCount();
    for (const refused of [await fetch(`${stack.url}/api/lookup?phone=89001110000`), await apiLookup('89001110000', token), await fetch(`${stack.url}/api/lookup?phone=89001110000&token=${token}`)]) {
      expect(refused.status).toBe(401);
      expect(await refused.text()).toBe("lookup: an agent session's token is required (POST /api/agent/session)\n");
    }
    expect(stack.emulator.leadCount()).toBe(leads); // nobody created a lead through it
  });

  describe('bad input never reaches Bitrix24 and gets a one-line 4xx', () => {
    it.each([
      [{ token }, 400, 'ani: missing'],
      [{ ani: '', token }, 400, 'ani is empty'],
      [{ ani: 'anonymous', token }, 400, 'ani is not a phone number'],
      [{ ani: '7'.repeat(41), token }, 400, 'ani is longer than 40 characters'],
      [{ ani: '123', token }, 400, 'ani has fewer than 5 digits'],
      [{ ani: '89123456789<x>', token }, 400, 'ani is not a phone number'],
      [{ ani: '89123456789', callId: 'a b<c>', token }, 400, 'callId: expected'],
      [{ ani: '89123456789' }, 401, 'token: missing'],
      [{ ani: '89123456789', token: 'wrong-token-value' }, 403, 'token: wrong'],
    ])('%j → %i', async (params, status, reason) => {
      const before = stack.emulator.counters.httpRequests;
      const a = await uccxLookup(stack.url, params as Record<string, string>);
      expect(a.status).toBe(status);
      expect(a.body.startsWith(reason)).toBe(true);
      expect(a.body.trim().split('\n')).toHaveLength(1);
      expect(stack.emulator.counters.httpRequests).toBe(before);
    });

    it('rejects an oversized body and a repeated parameter', async () => {
      const big = await fetch(`${stack.url}/uccx/lookup`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `ani=1&pad=${'x'.repeat(70_000)}`,
      });
      expect(big.status).toBe(413);
      const twice = await fetch(`${stack.url}/uccx/lookup?ani=79123456789&ani=79123456780&token=${token}`);
      expect(twice.status).toBe(400);
      expect(await twice.text()).toBe('ani: given more than once\n');
    });
  });

  it('escapes values in the XML', async () => {
    const xml = renderXml({ route: 'queue', extension: '<1&2>', entityType: '', entityId: null, status: 'degraded', responsibleId: null, phone: '+7', reason: 'a"b', matches: [] });
    expect(xml).toContain('<extension>&lt;1&amp;2&gt;</extension>');
    expect(xml).not.toContain('<1&2>');
  });
});

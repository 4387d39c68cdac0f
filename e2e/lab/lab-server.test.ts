import { startLabServer } from '../../scripts/lab/lab-server';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import moment from 'moment-timezone';
import { seedConfig } from '../../testing/ccdr-stand-in';
import { SqliteCcdrSource } from '../../middleware/stats/ccdr-source';
import { LAB_STATS_TOKEN, startStack, type Stack } from '../../scripts/lab/lab-stack';
import { waitFor } from '../../testing/wait';

describe('lab page server', () => {
  let stack: Stack;
  let lab: Awaited<ReturnType<typeof startLabServer>>;
  const ccdrPath = join(mkdtempSync(join(tmpdir(), 'lab-ccdr-')), 'db_cra.sqlite');
  beforeAll(async () => {
    const s = new SqliteCcdrSource(ccdrPath, { writable: true });
    seedConfig(s.db);
    await s.close();
    stack = await startStack({ mode: 'app', env: { CCDR_SQLITE_PATH: ccdrPath, STATS_API_TOKEN: LAB_STATS_TOKEN } });
    lab = await startLabServer(stack, 0);
  });
  afterAll(async () => {
    lab.server.close();
    await stack.stop();
  });
  const post = (path: string, body: unknown) => fetch(`${lab.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('places a simulated call and reports where it went', async () => {
    const trace = await (await post('/api/call', { ani: '89123456789' })).json();
    expect(trace).toMatchObject({ outcome: { kind: 'agent', target: '1021' }, lookup: { status: 'found', crmRef: 'CONTACT:42' } });
  });

  it('a reload shows the switches as they are', async () => {
    await post('/api/switches', { ready: ['1022'], outage: 'error', latencyMs: 500, csqStaffed: false });
    const html = await (await fetch(`${lab.url}/?lang=ru`)).text();
    expect(html).toContain('<html lang="ru">');
    expect(html).toContain('value="1021"> 1021');
    expect(html).toContain('value="1022" checked> 1022');
    expect(html).toContain('<option value="error" selected>');
    expect(html).toContain('<option value="500" selected>');
    expect(html).toContain('id="csq"> ');
    const trace = await (await post('/api/call', { ani: '84951112233' })).json(); // not cached yet
    expect(trace.outcome).toEqual({ kind: 'voicemail', target: '5999' });
    expect(trace.lookup).toMatchObject({ status: 'degraded', reason: 'bitrix24_unavailable' });
  });

  it("Bitrix24's refusals are switched from the page: a blocked search method still finds the caller, and a reload shows them", async () => {
    await post('/api/switches', { outage: 'none', oddities: { blocked: true, noLeads: true, reuse: true } });
    expect(stack.emulator.switches).toMatchObject({ leadCreation: 'disabled', reuseOpenCallId: true });
    const html = await (await fetch(`${lab.url}/?lang=en`)).text();
    for (const id of ['blocked', 'noLeads', 'reuse']) expect(html).toContain(`id="${id}" checked>`);
    const trace = await (await post('/api/call', { ani: '89152223344' })).json(); // not looked up before
    expect(trace.lookup).toMatchObject({ status: 'found' }); // findbycomm refused 429: searchCrmEntities answered
    await post('/api/switches', { oddities: { blocked: false, noLeads: false, reuse: false } });
    expect(stack.emulator.switches.operatingLimited.size).toBe(0);
    expect(await (await fetch(`${lab.url}/?lang=en`)).text()).toContain('id="blocked">');
  });

  it('writes each simulated call into the call records, and fills a month on request', async () => {
    const today = moment.tz('Europe/Moscow').format('YYYY-MM-DD');
    const stats = async () => (await (await fetch(`${stack.url}/api/stats/volume?from=${today}&to=${today}&by=day`, { headers: { authorization: `Bearer ${LAB_STATS_TOKEN}` } })).json()).rows;
    const before = (await stats())[0]?.presented ?? 0;
    await post('/api/switches', { ready: ['1021', '1022'], outage: 'none', latencyMs: 0, csqStaffed: true });
    await post('/api/call', { ani: '89123456789' });
    const after = (await stats())[0];
    expect(after.presented).toBe(before + 1);
    const fill = await (await post('/api/fill-month', {})).json();
    expect(fill.added).toBeGreaterThan(1000);
    const month = await (await fetch(`${stack.url}/api/stats/csq?from=${fill.from}&to=${fill.to}`, { headers: { authorization: `Bearer ${LAB_STATS_TOKEN}` } })).json();
    expect(month.rows.map((r: { csq: string }) => r.csq)).toEqual(['Sales', 'Support']);
    const ready = await (await fetch(`${stack.url}/readyz`, { headers: { authorization: `Bearer ${LAB_STATS_TOKEN}` } })).json();
    expect(ready.checks.callRecords).toEqual({ ok: true, reachable: true });
    expect(ready.checks.statsRollup).toMatchObject({ ok: true, lastError: null });
  });
});

describe('lab page server with the Finesse side', () => {
  it("its Ready switches are the agents' Finesse states, and an agent not Ready in Finesse gets no routed call", async () => {
    const stack = await startStack({ mode: 'app', finesse: { gadgetDir: mkdtempSync(join(tmpdir(), 'gd-')) } });
    const lab = await startLabServer(stack, 0);
    try {
      const f = stack.finesse!;
      expect(f.states.get('1001')).toBe('READY');
      await fetch(`${lab.url}/api/switches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ready: ['1022'] }) });
      expect([f.states.get('1001'), f.states.get('1002')]).toEqual(['NOT_READY', 'READY']);
      f.setState('1002', 'NOT_READY'); // e.g. the gadget switched him to dial
      const trace = await (await fetch(`${lab.url}/api/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ani: '+7 903 777-88-99' }) })).json();
      expect(trace.outcome.kind).not.toBe('agent');
      f.setState('1002', 'READY');
      const again = await (await fetch(`${lab.url}/api/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ani: '+7 903 777-88-99' }) })).json();
      expect(again.outcome).toEqual({ kind: 'agent', target: '1022' });
    } finally {
      lab.server.close();
      await stack.stop();
    }
  });

  it("plays Finesse's real flows on request: a prerouted call, a withheld caller, a transfer to 1022", async () => {
    const stack = await startStack({ mode: 'app', finesse: { gadgetDir: mkdtempSync(join(tmpdir(), 'gd-')) } });
    const lab = await startLabServer(stack, 0);
    const scenario = (name: string) =>
      fetch(`${lab.url}/api/finesse-scenario`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scenario: name, number: '8 912 345-67-89' }) });
    try {
      const f = stack.finesse!;
      const { dialogId } = (await (await scenario('preroute')).json()) as { dialogId: string };
      expect(f.liveDialogs('1001').find((d) => d.id === dialogId)).toMatchObject({ callType: 'PREROUTE_ACD_IN', from: '89123456789', dnis: '1021' });
      const withheld = (await (await scenario('withheld')).json()) as { dialogId: string };
      expect(f.liveDialogs('1001').find((d) => d.id === withheld.dialogId)).toMatchObject({ from: '', participants: [{ address: '1021' }] });
      f.endAll();
      await scenario('transfer');
      await waitFor(() => f.liveDialogs('1002').find((d) => d.callType === 'TRANSFER'), 20000, 'the call transferred to 1022');
      expect(f.liveDialogs('1001')).toEqual([]);
      f.endAll();
      // The rest of a contact center, in Cisco's shapes (scripts/lab/finesse/contact-center-flows.ts).
      await scenario('blind');
      await waitFor(() => f.liveDialogs('1002').find((d) => d.callType === 'OFFERED'), 20000, 'the blind transfer to 1022');
      expect(f.liveDialogs('1002').find((d) => d.callType === 'OFFERED')).toMatchObject({ from: '89123456789', to: '5000' });
      f.endAll();
      await scenario('barge');
      await waitFor(() => f.liveDialogs('1002').find((d) => d.callType === 'SUPERVISOR_BARGE_IN'), 20000, "the supervisor's barge-in");
      f.endAll();
      await scenario('campaign');
      await waitFor(() => f.liveDialogs('1001').find((d) => d.callType === 'OUTBOUND_PREVIEW'), 20000, 'the campaign customer leg');
      expect(f.liveDialogs('1001').find((d) => d.callType === 'OUTBOUND_PREVIEW')).toMatchObject({ from: '1021', to: '989123456789', callbackNumber: '89123456789' });
      const bad = await scenario('nonsense');
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ error: 'unknown scenario; one of preroute, withheld, rona, transfer, conference, outbound, blind, barge, intercept, assist, emergency, campaign, chat' });
    } finally {
      stack.finesse?.endAll();
      lab.server.close();
      await stack.stop();
    }
  });
});

describe('lab page server with a middleware pair', () => {
  let stack: Stack;
  let lab: Awaited<ReturnType<typeof startLabServer>>;
  beforeAll(async () => {
    stack = await startStack({ mode: 'app', pair: { need: 'required' } });
    lab = await startLabServer(stack, 0);
  });
  afterAll(async () => {
    lab.server.close();
    await stack.stop();
  });
  const nodes = async (action?: 'start' | 'kill') =>
    (await (
      await (action ? fetch(`${lab.url}/api/nodes/second`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action }) }) : fetch(`${lab.url}/api/nodes`))
    ).json()) as {
      nodes: Array<{ name: string; running: boolean; ready: boolean }>;
    };

  it('starts and kills node 2 from the page; lookups through the balancer answer throughout', async () => {
    const lookup = async () => (await (await fetch(`${stack.url}/uccx/lookup?ani=89123456789&token=lab-uccx-token`)).text()).includes('<status>found</status>');
    expect((await nodes()).nodes.map((n) => [n.name, n.running])).toEqual([
      ['node 1', true],
      ['node 2', false],
    ]);
    expect((await nodes('start')).nodes[1]).toMatchObject({ running: true, ready: true });
    await stack.pair!.balancer.serving();
    for (let i = 0; i < 4; i++) expect(await lookup()).toBe(true); // round robin: both nodes answer
    expect((await nodes('kill')).nodes[1]).toMatchObject({ running: false, ready: false });
    for (let i = 0; i < 4; i++) expect(await lookup()).toBe(true);
    const html = await (await fetch(`${lab.url}/?lang=en`)).text();
    expect(html).toContain('Kill node 2 (kill -9)');
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_ADMIN } from '../../scripts/lab/finesse/finesse-emulator';
import { LAB_UCCX_TOKEN, startStack, type Stack } from '../../scripts/lab/lab-stack';
import { uccxLookup } from '../../testing/lookup-client';
import { parseConfig } from '../../middleware/config';
import { Connector } from '../../middleware/connector';
import { openSqliteStore } from '../../middleware/store-sqlite';
import { AgentClient } from '../../testing/agent-client';
import { waitFor } from '../../testing/wait';
import { logSink } from '../../testing/log-sink';

/** The gadget's session, click-to-dial and call logging, over HTTP against the Finesse and Bitrix24 emulators. */
describe('/api/agent and /bitrix/events', () => {
  let stack: Stack;
  const clients: AgentClient[] = [];
  beforeEach(async () => {
    stack = await startStack({ mode: 'app', finesse: { gadgetDir: mkdtempSync(join(tmpdir(), 'gd-')) }, env: { DIAL_RESULT_TIMEOUT_MS: '1500' } });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await stack.stop();
  });
  const agent = async (id = '1001', password = 'lab') => {
    const c = new AgentClient(stack.url, id, password);
    clients.push(c);
    expect((await c.open()).status).toBe(200);
    await c.listen();
    return c;
  };
  const calls = () => stack.emulator.calls;

  it('the install binds our events, adds our line and makes it the default for outgoing calls', () => {
    expect([...stack.emulator.bindings.keys()].sort()).toEqual(['ONAPPINSTALL', 'ONAPPUNINSTALL', 'ONEXTERNALCALLBACKSTART', 'ONEXTERNALCALLSTART']);
    expect([...stack.emulator.bindings.get('ONEXTERNALCALLSTART')!]).toEqual([`${stack.url}/bitrix/events`]);
    expect([...stack.emulator.lines.keys()]).toEqual(['finesse']);
    expect(stack.emulator.defaultOutgoingLine).toBe('REST_APP:7:finesse');
    // The statistics where managers look for telephony figures: Telephony → Call statistics.
    expect(stack.emulator.placements).toEqual([expect.objectContaining({ placement: 'TELEPHONY_ANALYTICS_MENU', handler: `${stack.url}/bitrix/app`, title: 'Contact center (Cisco UCCX)' })]);
    expect(stack.emulator.placements[0]!.langAll.ru).toEqual({ TITLE: 'Контакт-центр (Cisco UCCX)', DESCRIPTION: 'Очереди, агенты, потерянные звонки; путь звонка', GROUP_NAME: 'Cisco UCCX' });
  });

  it('without the right to manage numbers, the install page says to choose the line by hand', async () => {
    stack.emulator.mayManageNumbers = false;
    stack.emulator.defaultOutgoingLine = 'reg150907';
    const res = await stack.emulator.installInto(`${stack.url}/bitrix/install`);
    expect(res.status).toBe(502);
    expect(await res.text()).toContain(
      'default outgoing line not set (voximplant.line.outgoing.set: ACCESS_DENIED Access denied); choose it by hand: Telephony → Settings → Default number for outgoing calls',
    );
  });

  it('forgets the portal on a real uninstall (the portal no longer takes our token), and then refuses its events', async () => {
    expect(await stack.emulator.uninstall()).toEqual([200]);
    expect(await stack.connector.store.getKv('bitrix24.installation')).toBeNull();
    const send = (event: string, data: Record<string, string>) => stack.emulator.deliver(`${stack.url}/bitrix/events`, stack.emulator.eventForm(event, data, {}, 5));
    expect((await send('ONEXTERNALCALLSTART', { CALL_ID: 'externalCall.a.1', USER_ID: '5', PHONE_NUMBER: '1' })).status).toBe(401);
  });

  it('refuses a forged uninstall (any portal user has the application token and member id): the connector stays', async () => {
    const sink = stack.emulator;
    const res = await sink.deliver(`${stack.url}/bitrix/events`, sink.eventForm('ONAPPUNINSTALL', { CLEAN: '0' }, {}, 6));
    expect(res.status).toBe(401);
    expect(await res.text()).toBe('event: not confirmed as coming from the installed application on the configured portal\n');
    expect(await stack.connector.store.getKv('bitrix24.installation')).not.toBeNull();
    expect((await uccxLookup(stack.url, { ani: '89123456789', token: LAB_UCCX_TOKEN })).fields.status).toBe('found');
  });

  it("refuses a forged click: another user's token, or a made-up one, never makes an agent dial", async () => {
    const a = await agent('1001');
    const data = { CALL_ID: 'externalCall.forged.2', USER_ID: '5', PHONE_NUMBER: '89001234567', PHONE_NUMBER_INTERNATIONAL: '+79001234567' };
    // Maria (user 6) posts a click "by Ivan" (user 5) with her own token, with the frame's application token and member id.
    const asMaria = await stack.emulator.deliver(`${stack.url}/bitrix/events`, stack.emulator.eventForm('ONEXTERNALCALLSTART', data, {}, 6));
    expect(asMaria.status).toBe(401);
    const madeUp = await stack.emulator.deliver(`${stack.url}/bitrix/events`, stack.emulator.eventForm('ONEXTERNALCALLSTART', data, { access_token: 'f'.repeat(32) }, 5));
    expect(madeUp.status).toBe(401);
    await stack.connector.settled();
    expect(a.commands).toHaveLength(0);
    expect(stack.finesse!.makeCalls).toHaveLength(0);
  });

  it('opens a session only for the agent whose Finesse credentials these are', async () => {
    const wrong = new AgentClient(stack.url, '1001', 'nope');
    const res = await wrong.open();
    expect(res.status).toBe(401);
    expect(await res.text()).toBe("agent session: Finesse refused the agent's authorization (HTTP 401, Authorization Failure: Unauthorized)\n");
    // Agent 1002's own password, claiming to be 1001: Finesse says the users differ.
    const res2 = await fetch(`${stack.url}/api/agent/session`, {
      method: 'POST',
      headers: { authorization: AgentClient.basic('1002', 'lab'), 'content-type': 'application/json' },
      body: JSON.stringify({ agentId: '1001' }),
    });
    expect(res2.status).toBe(401);
    expect(await res2.text()).toMatch(/Invalid Authorization User Specified/);
    const forged = await fetch(`${stack.url}/api/agent/commands`, { headers: { authorization: 'Bearer abc.123.def' } });
    expect(forged.status).toBe(401);
    // Guessing stops before Finesse's own lockout (5 failures): after the third refusal of the account, no more tries.
    await wrong.open();
    await wrong.open();
    const blocked = await wrong.open();
    expect(blocked.status).toBe(429);
    expect(await blocked.text()).toMatch(/^agent session: 3 refused sign-ins for 1001 within 5 minutes/);
  });

  it('counts refusals per Finesse account presented, so anonymous guesses never lock an agent out of Finesse', async () => {
    // Six sign-ins "as agent 1001" with a stranger's Basic credentials: Finesse sees the stranger fail, 1001 never.
    for (let i = 0; i < 6; i++) {
      await fetch(`${stack.url}/api/agent/session`, {
        method: 'POST',
        headers: { authorization: AgentClient.basic('mallory', 'x'), 'content-type': 'application/json' },
        body: JSON.stringify({ agentId: '1001' }),
      });
    }
    const real = new AgentClient(stack.url, '1001', 'lab');
    clients.push(real);
    expect((await real.open()).status).toBe(200);
  });

  it('a flood of sign-ins with made-up names reaches Finesse only at the bounded rate, and an agent who signed in lately still gets in', async () => {
    await agent('1001');
    const before = stack.finesse!.userReads;
    const t0 = Date.now();
    const attempt = (i: number) =>
      fetch(`${stack.url}/api/agent/session`, {
        method: 'POST',
        headers: { authorization: AgentClient.basic(`mallory${i}`, 'x'), 'content-type': 'application/json' },
        body: JSON.stringify({ agentId: `m${i}` }),
      }).then((r) => r.status);
    const statuses: number[] = [];
    for (let i = 0; i < 1000; i += 50) statuses.push(...(await Promise.all(Array.from({ length: 50 }, (_, j) => attempt(i + j)))));
    const seconds = (Date.now() - t0) / 1000;
    const forwarded = stack.finesse!.userReads - before;
    // docs/security.md: at most 30 at once and 2 a second after that for accounts not signed in here lately.
    expect(forwarded).toBeLessThanOrEqual(30 + 2 * seconds + 1);
    expect(statuses.filter((s) => s === 429).length).toBe(1000 - forwarded);
    const again = new AgentClient(stack.url, '1001', 'lab');
    clients.push(again);
    expect((await again.open()).status).toBe(200);
  });

  it("refuses a Finesse administrator's credentials for an agent's session (Finesse lets him read any User)", async () => {
    const res = await fetch(`${stack.url}/api/agent/session`, {
      method: 'POST',
      headers: { authorization: AgentClient.basic(LAB_ADMIN.id, LAB_ADMIN.password), 'content-type': 'application/json' },
      body: JSON.stringify({ agentId: '1001' }),
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toBe("agent session: these are not the agent's own credentials (another user's, e.g. an administrator's)\n");
  });

  it('names a CRM record for a signed-in agent only (the gadget shows the name, not CONTACT:42)', async () => {
    const a = await agent('1001');
    const get = (q: string, token = a.token) => fetch(`${stack.url}/api/agent/record?${q}`, { headers: { authorization: `Bearer ${token}` } });
    expect(await (await get('type=CONTACT&id=42')).json()).toEqual({ type: 'CONTACT', id: 42, name: 'Sergey Klientov' });
    expect(await (await get('type=company&id=12')).json()).toEqual({ type: 'COMPANY', id: 12, name: 'OOO Romashka' });
    const calls = stack.emulator.counters.calls['crm.contact.get'] ?? 0;
    await get('type=CONTACT&id=42');
    expect(stack.emulator.counters.calls['crm.contact.get']).toBe(calls); // cached
    expect((await get('type=CONTACT&id=42', 'forged')).status).toBe(401);
    const bad = await get('type=DEAL&id=x');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe('record: "type" must be CONTACT, LEAD or COMPANY and "id" a positive whole number\n');
    expect(await (await get('type=LEAD&id=99999')).json()).toEqual({ type: 'LEAD', id: 99999, name: '' });
  });

  it("a click reaches the clicking user's agent only, once, with the dial string; the outcome comes back", async () => {
    const a = await agent('1001');
    const b = await agent('1002');
    stack.emulator.deliverTwice = true; // Bitrix24 may deliver an event twice
    const call = await stack.emulator.clickToCall(5, '+7 (912) 345-67-89', { type: 'CONTACT', id: 42 });
    const cmd = await a.command(0);
    expect(cmd).toMatchObject({ callId: call.CALL_ID, toAddress: '89123456789', whenReady: 'switch' });
    // Agent B cannot settle A's command.
    expect((await b.post('/api/agent/dial-result', { commandId: cmd.id, ok: true })).status).toBe(404);
    expect((await a.post('/api/agent/dial-result', { commandId: cmd.id, ok: true })).status).toBe(204);
    await stack.connector.settled(); // both deliveries handled
    expect(a.commands).toHaveLength(1);
    expect(b.commands).toHaveLength(0);
    expect(stack.emulator.deliveries.map((d) => d.status)).toEqual([200, 200]);
    // The dialog of that call: finished on Bitrix24's CALL_ID, never registered again.
    const t0 = Date.now();
    const report = { dialogId: '5001', direction: 'outbound', number: '89123456789', startedAt: t0, answeredAt: t0 + 2000, endedAt: t0 + 9000, failure: null };
    expect((await a.post('/api/agent/calls', report)).status).toBe(202);
    await waitFor(() => call.finished, 20000, 'finish');
    expect(call.finished).toMatchObject({ STATUS_CODE: '200', DURATION: 7 });
    expect(calls()).toHaveLength(1);
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toContain('click_to_dial_total{outcome="dialled"} 1');
    expect(metrics).toContain('click_to_dial_total{outcome="repeated"} 1');
    expect(metrics).toContain('agent_sessions 2');
    const ready = (await (await fetch(`${stack.url}/readyz`, { headers: { authorization: `Bearer ${LAB_UCCX_TOKEN}` } })).json()) as { checks: Record<string, unknown> };
    expect(ready.checks.clickToDial).toMatchObject({ ok: true, gadgetsOnline: 2, finesse: { using: stack.finesse!.url, lastSwitch: null } });
  });

  it('a double click: the second (refused by Finesse as busy) fails visibly, the first is finished with its talk time; no third call', async () => {
    const a = await agent('1001');
    const first = await stack.emulator.clickToCall(5, '+7 (912) 345-67-89', { type: 'CONTACT', id: 42 });
    const cmd1 = await a.command(0);
    expect((await a.post('/api/agent/dial-result', { commandId: cmd1.id, ok: true })).status).toBe(204);
    const second = await stack.emulator.clickToCall(5, '+7 (912) 345-67-89', { type: 'CONTACT', id: 42 });
    const cmd2 = await a.command(1);
    expect((await a.post('/api/agent/dial-result', { commandId: cmd2.id, ok: false, code: 'finesse_refused', reason: 'Invalid State: the agent is dialling (HTTP 400)' })).status).toBe(204);
    await waitFor(() => second.finished, 20000, 'the second click failed');
    expect(second.finished!.STATUS_CODE).toBe('603');
    const t0 = Date.now();
    await a.post('/api/agent/calls', { dialogId: '5101', direction: 'outbound', number: '89123456789', startedAt: t0, answeredAt: t0 + 1000, endedAt: t0 + 21_000, failure: null });
    await waitFor(() => first.finished, 20000, 'the first click finished');
    expect(first.finished).toMatchObject({ STATUS_CODE: '200', DURATION: 20 });
    await stack.connector.settled();
    expect(
      calls()
        .map((c) => c.CALL_ID)
        .sort(),
    ).toEqual([first.CALL_ID, second.CALL_ID].sort()); // nothing registered besides
  });

  it('two tabs: the finish uses the earliest answer whichever tab reports it, even after the finish was queued', async () => {
    const a = await agent('1001');
    const b = new AgentClient(stack.url, '1001', 'lab');
    clients.push(b);
    expect((await b.open()).status).toBe(200);
    stack.emulator.switches.outage = 'error'; // Bitrix24 down: the jobs wait in the outbox
    const t0 = Date.now();
    const base = { dialogId: '5201', direction: 'inbound', number: '89123456789', startedAt: t0, failure: null };
    await a.post('/api/agent/calls', { ...base, answeredAt: t0 + 6000, endedAt: t0 + 30_000 }); // tab A saw the answer late
    await b.post('/api/agent/calls', { ...base, answeredAt: t0 + 2000, endedAt: t0 + 30_000 }); // tab B saw it at once
    stack.emulator.switches.outage = 'none';
    const call = await waitFor(() => calls()[0]?.finished && calls()[0], 20000, 'the call finished');
    expect(call.finished).toMatchObject({ STATUS_CODE: '200', DURATION: 28 });
  });

  it.each([
    ['the late-answer tab first', [6000, 2000]],
    ['the early-answer tab first', [2000, 6000]],
  ])('two tabs report one call with Bitrix24 up (%s, and both at once): the call keeps its true length', async (_order, answers) => {
    const a = await agent('1001');
    const b = new AgentClient(stack.url, '1001', 'lab');
    clients.push(b);
    expect((await b.open()).status).toBe(200);
    const t0 = Date.now();
    const report = (dialogId: string, answeredAt: number, endedAt: number) => ({
      dialogId,
      direction: 'inbound',
      number: '89123456789',
      startedAt: t0,
      answeredAt: t0 + answeredAt,
      endedAt: t0 + endedAt,
      failure: null,
    });
    // One after the other, then both at once: each tab saw the answer and the end at its own moment.
    expect((await a.post('/api/agent/calls', report('5301', answers[0]!, 30_000))).status).toBe(202);
    expect((await b.post('/api/agent/calls', report('5301', answers[1]!, 30_900))).status).toBe(202);
    const both = await Promise.all([a.post('/api/agent/calls', report('5302', answers[0]!, 30_000)), b.post('/api/agent/calls', report('5302', answers[1]!, 30_900))]);
    expect(both.map((r) => r.status)).toEqual([202, 202]);
    await waitFor(() => calls().length === 2 && calls().every((c) => c.finished), 20000, 'both calls finished');
    for (const c of calls()) expect(c.finished).toMatchObject({ STATUS_CODE: '200', DURATION: 29 }); // 2 s → 30.9 s
  });

  it("the contact center's own numbers never reach the CRM: a report for an agent's extension is refused, a lookup of a user's internal number answers 'internal' with no lead", async () => {
    const a = await agent('1001'); // Finesse says: extension 1021
    const t0 = Date.now();
    const report = { dialogId: '6001', direction: 'inbound', number: '1021', startedAt: t0, answeredAt: t0 + 1000, endedAt: t0 + 5000, failure: null };
    const refused = await a.post('/api/agent/calls', report);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toMatch(/one of the contact center's own numbers/);
    // A Bitrix24 user's internal number (a 5-digit desk phone), read from the portal.
    stack.emulator.portal.users.get(6)!.UF_PHONE_INNER = '20155';
    await stack.connector.internalNumbers.refresh();
    const looked = await uccxLookup(stack.url, { ani: '20155', callId: 'int-1', token: LAB_UCCX_TOKEN });
    expect(looked.fields).toMatchObject({ route: 'queue', status: 'internal', reason: 'internal_number', entityId: '' });
    expect((await a.post('/api/agent/calls', { ...report, dialogId: '6002', number: '20155' })).status).toBe(400);
    await stack.connector.settled();
    expect(stack.emulator.leadCount('20155')).toBe(0);
    expect(calls()).toHaveLength(0);
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/^internal_numbers_refused_total\{where="report"\} 2$/m);
    expect(metrics).toMatch(/^internal_numbers_refused_total\{where="lookup"\} 1$/m);
  });

  it('Bitrix24 hands back the CALL_ID of a call still open for a second, overlapping call: both reach the CRM, each with its own length', async () => {
    const a = await agent('1001');
    stack.emulator.switches.reuseOpenCallId = true;
    const t0 = Date.now();
    const report = (dialogId: string, answeredAt: number, endedAt: number | null) => ({
      dialogId,
      direction: 'inbound',
      number: '89123456789',
      startedAt: t0,
      answeredAt: t0 + answeredAt,
      endedAt: endedAt === null ? null : t0 + endedAt,
      failure: null,
    });
    await a.post('/api/agent/calls', report('8101', 1000, null)); // the first call, still going
    await waitFor(() => calls().length === 1 || null, 20000, 'the first call registered');
    await a.post('/api/agent/calls', report('8102', 2000, null)); // the second, on the same number, meanwhile
    await stack.connector.settled();
    expect(calls()).toHaveLength(1); // Bitrix24 gave it the first call's CALL_ID: it waits, nothing merged
    await a.post('/api/agent/calls', report('8101', 1000, 31_000)); // the first ends: 30 s
    await waitFor(() => calls().length === 2 && calls()[0]!.finished, 60000, 'the first finished, the second registered on a CALL_ID of its own');
    await a.post('/api/agent/calls', report('8102', 2000, 12_000)); // the second ends: 10 s
    await waitFor(() => calls().length === 2 && calls().every((c) => c.finished), 60000, 'both finished');
    expect(new Set(calls().map((c) => c.CALL_ID)).size).toBe(2);
    expect(calls().map((c) => c.finished!.DURATION)).toEqual([30, 10]);
  });

  it("a CRM callback request registers a callback call for the record's responsible and dials it from his agent", async () => {
    const a = await agent('1001');
    await stack.emulator.emit('ONEXTERNALCALLBACKSTART', { PHONE_NUMBER: '+79123456789', TEXT: '', VOICE: '', CRM_ENTITY_TYPE: 'CONTACT', CRM_ENTITY_ID: '42', LINE_NUMBER: 'finesse' });
    const cmd = await a.command(0);
    expect(calls()).toHaveLength(1);
    expect(calls()[0]).toMatchObject({ CALL_ID: cmd.callId, TYPE: 4, USER_ID: 5, CRM_ENTITY_TYPE: 'CONTACT', CRM_ENTITY_ID: 42, LINE_NUMBER: 'finesse' });
    expect(cmd.toAddress).toBe('89123456789');
  });

  it('a dialled click no gadget ever reports is closed hours later without a notification; a reported one is not', async () => {
    const a = await agent('1001');
    const lost = await stack.emulator.clickToCall(5, '+7 912 345 67 89');
    await a.post('/api/agent/dial-result', { commandId: (await a.command(0)).id, ok: true });
    const seen = await stack.emulator.clickToCall(5, '+7 495 111 22 33');
    await a.post('/api/agent/dial-result', { commandId: (await a.command(1)).id, ok: true });
    await a.post('/api/agent/calls', { dialogId: '77', direction: 'outbound', number: '84951112233', startedAt: Date.now(), answeredAt: null, endedAt: null, failure: null });
    expect(await stack.connector.clicks.closeUnreported()).toBe(0); // not yet: calls can be long
    expect(await stack.connector.clicks.closeUnreported(Date.now() + 5 * 3_600_000)).toBe(1);
    await waitFor(() => lost.finished, 20000, 'the lost click closed');
    expect(lost.finished).toMatchObject({ STATUS_CODE: 'OTHER' });
    expect(lost.finished!.FAILED_REASON).toMatch(/гаджет Finesse не сообщил о нём/);
    expect(seen.finished).toBeNull();
    expect(stack.emulator.notifications).toHaveLength(0);
  });

  it('a click delivered without auth[access_token] (an older portal) is refused, never dialled, and the log says once what to do', async () => {
    await stack.stop();
    const sink = logSink();
    stack = await startStack({ mode: 'app', finesse: { gadgetDir: mkdtempSync(join(tmpdir(), 'gd-')) }, env: { LOG_LEVEL: 'warn' }, logDestination: sink.stream });
    const a = await agent('1001');
    for (const n of [1, 2]) {
      const form = stack.emulator.eventForm('ONEXTERNALCALLSTART', { CALL_ID: `externalCall.old.${n}`, USER_ID: '5', PHONE_NUMBER: '89123456789' }, { access_token: '' }, 5);
      expect((await stack.emulator.deliver(`${stack.url}/bitrix/events`, form)).status).toBe(401);
    }
    await stack.connector.settled();
    expect(a.commands).toHaveLength(0);
    expect(sink.lines.filter((l) => /without auth\[access_token\].*Update the portal/.test(l))).toHaveLength(1);
  });

  it('a forged or foreign event is refused (401) and dials nothing', async () => {
    const a = await agent('1001');
    const data = { CALL_ID: 'externalCall.forged.1', USER_ID: '5', PHONE_NUMBER: '89123456789' };
    for (const auth of [{ application_token: 'f'.repeat(32) }, { member_id: 'someoneelse' }, { application_token: '' }]) {
      const res = await stack.emulator.deliver(`${stack.url}/bitrix/events`, stack.emulator.eventForm('ONEXTERNALCALLSTART', data, auth));
      expect(res.status).toBe(401);
    }
    const bad = await stack.emulator.deliver(`${stack.url}/bitrix/events`, stack.emulator.eventForm('ONEXTERNALCALLSTART', { USER_ID: '5' }, {}, 5));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe('ONEXTERNALCALLSTART: data[CALL_ID] is missing or malformed\n');
    await stack.connector.settled();
    expect(a.commands).toHaveLength(0);
  });

  it('a click the busy portal cannot confirm is held, not refused: dialled as soon as the portal answers', async () => {
    const a = await agent('1001');
    stack.emulator.switches.busy = true; // other applications keep the portal's REST bucket full: 503 to everything
    const call = await stack.emulator.clickToCall(5, '+7 912 345 67 89', { type: 'CONTACT', id: 42 });
    expect(stack.emulator.deliveries.at(-1)).toMatchObject({ event: 'ONEXTERNALCALLSTART', status: 200 });
    await waitFor(() => stack.connector.clicks.heldCount === 1 || null, 20000, 'the click held');
    expect(a.commands).toHaveLength(0); // never dialled blind
    stack.emulator.switches.busy = false;
    const cmd = await a.command(0);
    expect(cmd.toAddress).toBe('89123456789');
    await a.post('/api/agent/dial-result', { commandId: cmd.id, ok: true });
    await stack.connector.settled();
    expect(call.finished).toBeNull(); // dialled: it is finished when the dialog ends
    expect(stack.emulator.notifications).toHaveLength(0);
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/bitrix24_token_checks_total\{answer="unknown"\} [1-9]/);
    expect(metrics).toMatch(/bitrix24_token_checks_total\{answer="user"\} 1/);
  });

  it('a click the portal stays too busy to confirm fails visibly when its window ends: finished 503 and the user told', async () => {
    await stack.stop();
    stack = await startStack({ mode: 'app', finesse: { gadgetDir: mkdtempSync(join(tmpdir(), 'gd-')) }, env: { CLICK_PROOF_WINDOW_S: '5' } });
    const a = await agent('1001');
    stack.emulator.switches.busy = true;
    const call = await stack.emulator.clickToCall(5, '+7 912 345 67 89');
    await waitFor(() => stack.connector.clicks.heldCount === 1 || null, 20000, 'the click held');
    await waitFor(() => stack.connector.clicks.heldCount === 0 || null, 20000, 'the window ended');
    stack.emulator.switches.busy = false; // the portal frees up: the failure reaches Bitrix24
    await waitFor(() => call.finished && stack.emulator.notifications.length > 0, 30000, 'the failure in Bitrix24');
    expect(call.finished).toMatchObject({ STATUS_CODE: '503', DURATION: 0 });
    expect(call.finished!.FAILED_REASON).toMatch(/^Звонок на \+7 912 345 67 89 не состоялся: Битрикс24 был перегружен и не подтвердил нажатие вовремя \(.+\); повторите звонок$/);
    expect(stack.emulator.notifications).toEqual([{ userId: 5, message: call.finished!.FAILED_REASON, at: expect.any(Number) }]);
    expect(a.commands).toHaveLength(0);
  });

  it("a held click the portal then refuses (someone else's or a made-up token) is dropped, never dialled nor finished", async () => {
    const a = await agent('1001');
    stack.emulator.switches.busy = true;
    const data = { CALL_ID: 'externalCall.held.forged', USER_ID: '5', PHONE_NUMBER: '89123456789', PHONE_NUMBER_INTERNATIONAL: '+79123456789' };
    const asMaria = await stack.emulator.deliver(`${stack.url}/bitrix/events`, stack.emulator.eventForm('ONEXTERNALCALLSTART', data, {}, 6));
    const madeUp = await stack.emulator.deliver(
      `${stack.url}/bitrix/events`,
      stack.emulator.eventForm('ONEXTERNALCALLSTART', { ...data, CALL_ID: 'externalCall.held.madeup' }, { access_token: 'a'.repeat(72) }, 5),
    );
    expect([asMaria.status, madeUp.status]).toEqual([200, 200]); // the portal could not tell yet
    await waitFor(() => stack.connector.clicks.heldCount === 2 || null, 20000, 'both held');
    stack.emulator.switches.busy = false;
    await waitFor(() => stack.connector.clicks.heldCount === 0 || null, 20000, 'both answered');
    await stack.connector.settled();
    expect(a.commands).toHaveLength(0);
    expect(stack.emulator.notifications).toHaveLength(0);
    expect(stack.emulator.counters.calls['telephony.externalCall.finish']).toBeUndefined();
  });

  it("one question per token: a user's clicks on one token cost one user.current for the token's life", async () => {
    const a = await agent('1001');
    const token = stack.emulator.issueTokens(5).accessToken;
    for (const n of [1, 2, 3]) {
      const form = stack.emulator.eventForm('ONEXTERNALCALLSTART', { CALL_ID: `externalCall.same.${n}`, USER_ID: '5', PHONE_NUMBER: '89123456789' }, { access_token: token }, 5);
      expect((await stack.emulator.deliver(`${stack.url}/bitrix/events`, form)).status).toBe(200);
      await a.post('/api/agent/dial-result', { commandId: (await a.command(n - 1)).id, ok: true });
    }
    expect(stack.emulator.counters.calls['user.current']).toBe(1);
  });

  it('with no gadget online the click fails visibly: finished with 480 and the user told why, once', async () => {
    stack.emulator.deliverTwice = true;
    const call = await stack.emulator.clickToCall(5, '+7 912 345 67 89', { type: 'CONTACT', id: 42 });
    await waitFor(() => stack.emulator.notifications.length > 0 && call.finished, 20000, 'failure');
    expect(call.finished).toMatchObject({ STATUS_CODE: '480', DURATION: 0 });
    expect(call.finished!.FAILED_REASON).toBe('Звонок на +7 912 345 67 89 не состоялся: гаджет Bitrix24 в рабочем столе Finesse не открыт для внутреннего номера 1021; откройте Finesse и повторите');
    await stack.connector.settled(); // the second delivery handled too
    expect(stack.emulator.notifications).toEqual([{ userId: 5, message: call.finished!.FAILED_REASON, at: expect.any(Number) }]);
  });

  it('a user without an extension, and a gadget that never answers, fail visibly too', async () => {
    const noExt = await stack.emulator.clickToCall(8, '+7 912 345 67 89');
    await waitFor(() => noExt.finished, 20000, 'no extension');
    expect(noExt.finished!.STATUS_CODE).toBe('403');
    await agent('1001'); // online, but never reports an outcome
    const silent = await stack.emulator.clickToCall(5, '+7 912 345 67 89');
    await waitFor(() => silent.finished, 20000, 'timeout');
    expect(silent.finished).toMatchObject({ STATUS_CODE: '480' });
    expect(silent.finished!.FAILED_REASON).toMatch(/гаджет Finesse не ответил вовремя/);
  });

  it('logs inbound answered, inbound missed and outbound busy calls once each, under the agent, with their status', async () => {
    const a = await agent('1001');
    const t0 = Date.now();
    const answered = { dialogId: '7001', direction: 'inbound', number: '+7 912 345-67-89', startedAt: t0, answeredAt: t0 + 3000, endedAt: t0 + 64_000, failure: null, crmRef: 'CONTACT:42' };
    const missed = { dialogId: '7002', direction: 'inbound', number: '79001112233', startedAt: t0, answeredAt: null, endedAt: t0 + 15_000, failure: null };
    const busy = { dialogId: '7003', direction: 'outbound', number: '84951112233', startedAt: t0, answeredAt: null, endedAt: t0 + 2000, failure: 'BUSY' };
    for (const r of [{ ...answered, answeredAt: null, endedAt: null }, answered, answered, missed, busy, busy]) expect((await a.post('/api/agent/calls', r)).status).toBe(202);
    await waitFor(() => calls().length === 3 && calls().every((c) => c.finished), 20000, 'three finished calls');
    const byPhone = Object.fromEntries(calls().map((c) => [c.PHONE_NUMBER, c]));
    expect(byPhone['+79123456789']).toMatchObject({ USER_ID: 5, TYPE: 2, CRM_ENTITY_TYPE: 'CONTACT', CRM_ENTITY_ID: 42, LINE_NUMBER: 'finesse', finished: { STATUS_CODE: '200', DURATION: 61 } });
    expect(byPhone['+79001112233']).toMatchObject({ USER_ID: 5, TYPE: 2, CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY_ID: 310, finished: { STATUS_CODE: '304', DURATION: 0 } });
    expect(byPhone['+74951112233']).toMatchObject({ USER_ID: 5, TYPE: 1, CRM_ENTITY_TYPE: 'CONTACT', CRM_ENTITY_ID: 43, finished: { STATUS_CODE: '486' } });
    expect(new Set(calls().map((c) => c.EXTERNAL_CALL_ID)).size).toBe(3);
    const bad = await a.post('/api/agent/calls', { ...missed, direction: 'up' });
    expect(bad.status).toBe(400);
  });

  it('a gadget reloaded mid-call closes the call with its first answer time; a partial end alone logs nothing', async () => {
    const a = await agent('1001');
    const t0 = Date.now();
    const first = { dialogId: '9001', direction: 'inbound', number: '89123456789', startedAt: t0, answeredAt: t0 + 2000, endedAt: null, failure: null };
    await a.post('/api/agent/calls', first);
    // The reloaded page saw the call only when it ended.
    await a.post('/api/agent/calls', { ...first, startedAt: t0 + 40_000, answeredAt: null, endedAt: t0 + 42_000, partial: true });
    const call = await waitFor(() => calls()[0]?.finished && calls()[0], 20000, 'finish');
    expect(call.finished).toMatchObject({ STATUS_CODE: '200', DURATION: 40 });
    await a.post('/api/agent/calls', { ...first, dialogId: '9002', answeredAt: null, endedAt: t0 + 1000, partial: true });
    await stack.connector.settled();
    expect(calls()).toHaveLength(1);
  });

  it('the middleware restarted between register and finish still finishes the call, once', async () => {
    const a = await agent('1001');
    const t0 = Date.now();
    const start = { dialogId: '8001', direction: 'inbound', number: '89123456789', startedAt: t0, answeredAt: null, endedAt: null, failure: null };
    await a.post('/api/agent/calls', start);
    const call = await waitFor(() => calls()[0], 20000, 'register');
    // Bitrix24 fails while the end is reported; then the middleware goes down before the finish got through.
    stack.emulator.switches.outage = 'error';
    await a.post('/api/agent/calls', { ...start, answeredAt: t0 + 1000, endedAt: t0 + 31_000 });
    await waitFor(async () => ((await stack.connector.outbox.get('call-finish:1001:8001'))?.attempts ?? 0) > 0, 20000, 'a failed finish');
    a.close();
    await stack.connector.stop(100);
    stack.emulator.switches.outage = 'none';
    const again = new Connector(parseConfig(stack.env));
    await again.listen(0, '127.0.0.1');
    try {
      await waitFor(() => call.finished, 20000, 'finish after the restart');
      expect(call.finished).toMatchObject({ STATUS_CODE: '200', DURATION: 30 });
      // The gadget reports the end again to the new instance (its queue retries): nothing happens twice.
      const b = new AgentClient(again.url, '1001', 'lab');
      expect((await b.open()).status).toBe(200);
      expect((await b.post('/api/agent/calls', { ...start, answeredAt: t0 + 1000, endedAt: t0 + 31_000 })).status).toBe(202);
      await again.settled();
      expect(calls()).toHaveLength(1);
      expect(stack.emulator.counters.calls['telephony.externalCall.finish']).toBe(1);
    } finally {
      await again.stop(100);
    }
  });

  it('a click the middleware was still dialling when it stopped is failed visibly, at the latest at the next start', async () => {
    const a = await agent('1001'); // online, but stops before answering
    const call = await stack.emulator.clickToCall(5, '+7 912 345 67 89');
    await a.command(0);
    a.close();
    await stack.connector.stop(100);
    const again = new Connector(parseConfig(stack.env));
    await again.listen(0, '127.0.0.1');
    try {
      await waitFor(() => call.finished, 20000, 'the interrupted click to be finished');
      expect(call.finished).toMatchObject({ STATUS_CODE: '480' });
      expect(call.finished!.FAILED_REASON).toMatch(/коннектор перезапускался во время набора/);
    } finally {
      await again.stop(100);
    }
  });

  it('with several nodes, an unsettled click is failed only once no node can still be waiting for it', async () => {
    const call = await stack.emulator.clickToCall(5, '+7 912 345 67 89'); // no gadget: failed at once, settled
    await waitFor(() => call.finished, 20000, 'the click failed');
    const seen = { at: Date.now(), click: { callId: 'c-waiting', userId: 5, phone: '+7 912 345 67 89', phoneInternational: '' }, settled: false };
    await stack.connector.store.setKv('click.seen.c-waiting', seen); // as if another node were waiting for its gadget
    expect(await stack.connector.clicks.recover(60_000)).toBe(0);
    expect(await stack.connector.clicks.recover(60_000, Date.now() + 61_000)).toBe(1);
    expect(await stack.connector.store.getKv('click.seen.c-waiting')).toMatchObject({ settled: true });
  });

  it('after a crash while dialling (the mark of the click never settled), the next start fails the click visibly', async () => {
    await stack.connector.stop(100);
    const call = await stack.emulator.clickToCall(5, '+7 912 345 67 89'); // nobody listens: as if the process died
    const store = await openSqliteStore(stack.env.DATA_DIR!);
    await store.setKv(`click.seen.${call.CALL_ID}`, { at: Date.now(), click: { callId: call.CALL_ID, userId: 5, phone: '+7 912 345 67 89', phoneInternational: '' }, settled: false });
    await store.close();
    const again = new Connector(parseConfig(stack.env));
    await again.listen(0, '127.0.0.1');
    try {
      await waitFor(() => call.finished, 20000, 'the interrupted click to be finished');
      expect(call.finished!.FAILED_REASON).toMatch(/коннектор перезапускался во время набора/);
    } finally {
      await again.stop(100);
    }
  });
});

describe('what click-to-dial writes to the log', () => {
  it('names refusals and sessions without any token, password or authorization', async () => {
    const { lines, stream } = logSink();
    const stack = await startStack({ mode: 'app', finesse: { gadgetDir: mkdtempSync(join(tmpdir(), 'gd-')) }, env: { LOG_LEVEL: 'info' }, logDestination: stream });
    try {
      const a = new AgentClient(stack.url, '1001', 'lab');
      await a.open();
      await a.listen();
      const forged = stack.emulator.eventForm('ONEXTERNALCALLSTART', { CALL_ID: 'externalCall.f.1', USER_ID: '5', PHONE_NUMBER: '1' }, { application_token: 'forged-token-value' });
      expect((await stack.emulator.deliver(`${stack.url}/bitrix/events`, forged)).status).toBe(401);
      await stack.emulator.clickToCall(5, '+7 912 345 67 89');
      await a.command(0);
      a.close();
      const log = lines.join('');
      expect(log).toContain('Bitrix24 event refused');
      expect(log).toContain('agent session opened');
      for (const secret of [stack.emulator.applicationToken, 'forged-token-value', a.token, AgentClient.basic('1001', 'lab').slice(6)]) expect(log).not.toContain(secret);
    } finally {
      await stack.stop();
    }
  });
});

describe('call logging with a webhook that Bitrix24 does not let register calls', () => {
  it('gives up at once with the reason (no endless retries), and says so', async () => {
    const stack = await startStack({ mode: 'webhook', finesse: { gadgetDir: mkdtempSync(join(tmpdir(), 'gd-')) } });
    try {
      stack.emulator.switches.webhookTelephonyDenied = true;
      const a = new AgentClient(stack.url, '1001', 'lab');
      expect((await a.open()).status).toBe(200);
      const t0 = Date.now();
      await a.post('/api/agent/calls', { dialogId: '1', direction: 'inbound', number: '89123456789', startedAt: t0, answeredAt: t0 + 1, endedAt: t0 + 5000, failure: null });
      const reg = await waitFor(
        async () => {
          const item = await stack.connector.outbox.get('call-register:1001:1');
          return item?.state === 'done' ? item : null;
        },
        5000,
        'register',
      );
      expect(reg.attempts).toBe(1);
      expect(reg.result).toEqual({ skipped: expect.stringMatching(/^calls cannot be logged: telephony\.externalCall\.register: WRONG_AUTH_TYPE .*install the application/) });
      await waitFor(async () => (await stack.connector.outbox.get('call-finish:1001:1'))?.state === 'done', 20000, 'finish skipped');
      expect(stack.emulator.calls).toHaveLength(0);
    } finally {
      await stack.stop();
    }
  });
});

import { RestError } from '../../scripts/lab/bitrix24-emulator/portal';
import { LAB_UCCX_TOKEN, startStack, type Stack } from '../../scripts/lab/lab-stack';
import { waitFor } from '../../testing/wait';
import { logSink } from '../../testing/log-sink';
import { uccxLookup } from '../../testing/lookup-client';
import { leadKey } from '../../middleware/lookup/unknown-caller';

/**
 * Bitrix24's failures as Bitrix24 means them (conformance/bitrix24: failure classes): a deleted or a moved portal is a
 * state — lookups answer at once with its reason, nothing is sent but a probe, jobs are kept and go out once the
 * portal answers; a refusal no retry changes parks its job with the reason instead of a backoff loop.
 */
describe('a deleted, a moved portal; a permanent refusal', () => {
  let stack: Stack;
  afterEach(() => stack?.stop());
  const token = LAB_UCCX_TOKEN;
  const metrics = async () => (await fetch(`${stack.url}/metrics`)).text();
  const readyz = async () =>
    (await (await fetch(`${stack.url}/readyz`, { headers: { authorization: `Bearer ${token}` } })).json()) as { checks: { bitrix24: Record<string, unknown>; outbox: Record<string, unknown> } };

  it('PORTAL_DELETED: lookups answer at once with their reason, nothing but the probe reaches the portal, the kept lead goes out once it is back', async () => {
    const sink = logSink();
    stack = await startStack({ mode: 'app', env: { LOOKUP_CACHE_TTL_S: '0', LOG_LEVEL: 'warn' }, logDestination: sink.stream });
    await uccxLookup(stack.url, { ani: '89123456789', token }); // the users read
    await stack.connector.settled();
    stack.emulator.switches.portal = 'deleted';
    const first = await uccxLookup(stack.url, { ani: '+7 999 310-00-01', callId: 'gone-1', token });
    expect(first.fields).toMatchObject({ route: 'queue', status: 'degraded', reason: 'bitrix24_portal_gone' });
    await stack.connector.settled();
    // From here on the state is known: more lookups and every outbox retry send nothing.
    const before = stack.emulator.counters.httpRequests;
    const answers = await Promise.all(['+7 999 310-00-02', '+7 999 310-00-03', '89123456789'].map((ani, i) => uccxLookup(stack.url, { ani, callId: `gone-${i + 2}`, token })));
    for (const a of answers) expect(a.fields).toMatchObject({ route: 'queue', reason: 'bitrix24_portal_gone' });
    await stack.connector.outbox.runDue();
    await stack.connector.settled();
    expect(stack.emulator.counters.httpRequests - before).toBe(0);
    expect(sink.lines.filter((l) => /the portal was deleted/.test(l))).toHaveLength(1);
    expect((await readyz()).checks.bitrix24).toMatchObject({ ok: false, portal: 'gone', reason: expect.stringMatching(/PORTAL_DELETED/) });
    expect(await metrics()).toMatch(/^bitrix24_portal_state\{state="gone"\} 1$/m);
    // Kept: the three new callers' leads, and the known caller's (its job looks before it writes: no lead for him).
    expect((await stack.connector.outbox.stats()).depth).toBe(4);

    stack.emulator.switches.portal = 'ok';
    await stack.connector.directory.serverTime(undefined, true); // what the 20-s probe sends
    expect(stack.connector.portalState.condition.state).toBe('ok');
    await waitFor(() => ['+79993100001', '+79993100002', '+79993100003'].every((n) => stack.emulator.leadCount(n) === 1), 90_000, 'the kept leads made');
    await waitFor(async () => (await stack.connector.outbox.stats()).depth === 0, 90_000, 'the outbox drained');
    expect(stack.emulator.leadCount('+79123456789')).toBe(0);
    expect(sink.lines.filter((l) => /answers again/.test(l))).toHaveLength(1);
  });

  it('a moved portal (301): the client never follows it; lookups and /readyz say where it went', async () => {
    stack = await startStack({ mode: 'app', env: { LOOKUP_CACHE_TTL_S: '0' } });
    stack.emulator.switches.portal = 'moved';
    const a = await uccxLookup(stack.url, { ani: '89123456789', token });
    expect(a.fields).toMatchObject({ route: 'queue', status: 'degraded', reason: 'bitrix24_portal_moved' });
    expect((await readyz()).checks.bitrix24).toMatchObject({
      portal: 'moved',
      reason: expect.stringMatching(/B24_PORTAL_URL/),
      location: expect.stringMatching(/^https:\/\/renamed\.bitrix24\.example\/rest\//),
    });
    expect(await metrics()).toMatch(/^bitrix24_portal_state\{state="moved"\} 1$/m);
  });

  it('a refusal no retry changes parks the job with its reason: tried once, never again, counted', async () => {
    stack = await startStack({ mode: 'app', env: { LOOKUP_CACHE_TTL_S: '0' } });
    stack.emulator.switches.failNext.set('crm.lead.add', new RestError(400, 'INVALID_ARGUMENT', 'TITLE is too long'));
    await uccxLookup(stack.url, { ani: '+7 999 320-00-01', callId: 'park-1', token });
    await stack.connector.settled();
    const job = await stack.connector.outbox.get(leadKey('79993200001'));
    expect(job).toMatchObject({ state: 'done', attempts: 1, lastError: expect.stringMatching(/INVALID_ARGUMENT TITLE is too long/) });
    await stack.connector.outbox.runDue();
    expect(stack.emulator.counters.received['crm.lead.add']).toBe(1);
    expect((await readyz()).checks.outbox).toMatchObject({ parked: 1 });
    await waitFor(async () => /^outbox_parked 1$/m.test(await metrics()), 20_000, 'the parked gauge');
  });

  // settings/performance/limits.md: a method over its operating time answers 429 OPERATION_TIME_LIMIT for that
  // method only (the body often without operating_reset_at): the lookup asks the other search method meanwhile.
  it.each([
    ['app', 'crm.duplicate.findbycomm'],
    ['app', 'telephony.externalCall.searchCrmEntities'],
    ['webhook', 'crm.duplicate.findbycomm'],
  ] as const)('%s mode, %s blocked: known callers still reach their agent through the other search method', async (mode, blocked) => {
    stack = await startStack({ mode, env: { LOOKUP_CACHE_TTL_S: '0' } });
    stack.emulator.switches.operatingLimited.add(blocked);
    const first = await uccxLookup(stack.url, { ani: '89123456789', token }); // meets the block, falls back
    expect(first.fields).toMatchObject({ status: 'found', route: 'agent' });
    const before = stack.emulator.counters.received[blocked] ?? 0;
    const again = await uccxLookup(stack.url, { ani: '84951112233', token }); // the blocked method is not even asked
    expect(again.fields).toMatchObject({ status: 'found' });
    expect(stack.emulator.counters.received[blocked] ?? 0).toBe(before);
  });

  it('both search methods blocked: the lookup answers in time with its own reason', async () => {
    stack = await startStack({ mode: 'app', env: { LOOKUP_CACHE_TTL_S: '0' } });
    stack.emulator.switches.operatingLimited.add('crm.duplicate.findbycomm');
    stack.emulator.switches.operatingLimited.add('telephony.externalCall.searchCrmEntities');
    const a = await uccxLookup(stack.url, { ani: '89123456789', token });
    expect(a.fields).toMatchObject({ route: 'queue', status: 'degraded', reason: 'bitrix24_method_blocked' });
  });
});

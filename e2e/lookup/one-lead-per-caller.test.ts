import { Bitrix24Emulator } from '../../scripts/lab/bitrix24-emulator/server';
import { LAB_UCCX_TOKEN, middlewareEnv, startStack, type Stack } from '../../scripts/lab/lab-stack';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../middleware/config';
import { Connector } from '../../middleware/connector';
import { LOG_MISSED_CALL, missedKey } from '../../middleware/missed/missed-call-log';
import { uccxLookup } from '../../testing/lookup-client';
import { outboxDepth, processSetup, ready, startMiddleware, until } from '../middleware-process';

// A caller's lookup end to end: one lead per unknown caller whatever the timing, reads that never wait for writes,
// and the portal's limits (the bucket, expiring tokens, an application not installed).

const token = LAB_UCCX_TOKEN;

describe('unknown callers: exactly one lead, never lost', () => {
  let stack: Stack;
  afterEach(() => stack?.stop());

  it('50 concurrent lookups of one unknown number create one lead', async () => {
    stack = await startStack({ mode: 'app' });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => uccxLookup(stack.url, { ani: '+7 999 200-00-02', callId: `c${i}`, token })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const ids = new Set(answers.map((a) => a.fields.entityId));
    expect(ids.size).toBe(1);
    expect(answers[0]!.fields.status).toBe('created');
    expect(stack.emulator.leadCount('+79992000002')).toBe(1);
    expect(stack.emulator.counters.calls['crm.lead.add']).toBe(1);
  });

  it('Bitrix24 hanging: the answer comes within the deadline, the lead is created once after recovery', async () => {
    const { emulator, env, port, url } = await processSetup('fb24-hang-', { LOOKUP_DEADLINE_MS: '800', B24_REQUEST_TIMEOUT_MS: '1000' });
    const child = startMiddleware(env, port);
    try {
      await ready(url, child!);
      emulator.switches.outage = 'hang';
      // The portal never answers while it hangs: an answer at all, with the deadline as its reason, is the proof.
      // (How fast it comes is measured by `npm run bench`, not here.)
      const results = await Promise.all([0, 1, 2].map((i) => uccxLookup(url, { ani: '89992000003', callId: `h${i}`, token })));
      for (const a of results) expect(a.fields).toMatchObject({ route: 'queue', status: 'degraded', reason: 'bitrix24_timeout' });
      expect(await outboxDepth(url)).toBe(1);
      // The outbox retries while the portal hangs: wait for a retry to reach the portal (and hang there too).
      const seen = emulator.counters.httpRequests;
      await until(() => emulator.counters.httpRequests > seen, 'a retry while the portal hangs');
      expect(emulator.leadCount('+79992000003')).toBe(0);
      emulator.switches.outage = 'none';
      emulator.release();
      await until(async () => (await outboxDepth(url)) === 0, 'outbox to drain');
      expect(emulator.leadCount('+79992000003')).toBe(1);
      const after = await uccxLookup(url, { ani: '89992000003', token });
      expect(after.fields).toMatchObject({ entityType: 'LEAD', route: 'queue' });
      expect(emulator.leadCount('+79992000003')).toBe(1);
    } finally {
      await child.stop();
      await emulator.stop();
    }
  });

  it('a known caller answered degraded gets no lead: the queued job finds the contact', async () => {
    stack = await startStack({ mode: 'app', env: { LOOKUP_DEADLINE_MS: '300', B24_REQUEST_TIMEOUT_MS: '500' } });
    stack.emulator.switches.latencyMs = 600;
    const a = await uccxLookup(stack.url, { ani: '89123456789', token });
    expect(a.fields.status).toBe('degraded');
    stack.emulator.switches.latencyMs = 0;
    await until(async () => (await stack.connector.outbox.stats()).depth === 0, 'outbox to drain');
    expect(stack.emulator.counters.calls['crm.lead.add'] ?? 0).toBe(0);
  });
});

describe('exactly one lead whatever the timing', () => {
  it('a lead creation that outlives our request timeout is waited for and found, never sent twice', async () => {
    const stack = await startStack({ mode: 'app', env: { B24_REQUEST_TIMEOUT_MS: '1000', B24_WRITE_SETTLE_MS: '6000', LOOKUP_DEADLINE_MS: '800' } });
    try {
      stack.emulator.switches.methodLatencyMs.set('crm.lead.add', 2000); // the portal creates it after we gave up
      const a = await uccxLookup(stack.url, { ani: '+7 999 800-00-01', callId: 'slow-1', token });
      expect(a.fields.status).not.toBe('found');
      await until(async () => (await stack.connector.outbox.get('lead:79998000001'))?.state === 'done', 'the lead job to settle', 30_000);
      expect(stack.emulator.leadCount('+79998000001')).toBe(1);
      expect((await stack.connector.outbox.get('lead:79998000001'))?.result).toMatchObject({ type: 'LEAD', created: true });
    } finally {
      await stack.stop();
    }
  });

  it("an unknown caller who abandons while Bitrix24 is down gets one lead from the lookup's job and the missed call's job together", async () => {
    const stack = await startStack({ mode: 'app', env: { LOOKUP_DEADLINE_MS: '300', B24_REQUEST_TIMEOUT_MS: '500' } });
    try {
      stack.emulator.switches.outage = 'error';
      const a = await uccxLookup(stack.url, { ani: '+7 999 800-00-02', callId: 'both-1', token });
      expect(a.fields.status).toBe('degraded');
      const call = { sessionId: '555001', nodeId: 1, startUtc: '2026-11-30 03:00:00', endUtc: '2026-11-30 03:00:30', caller: '+79998000002', crmRef: '' };
      await stack.connector.outbox.enqueue(missedKey(call), LOG_MISSED_CALL, call);
      stack.emulator.switches.outage = 'none';
      await until(async () => (await stack.connector.outbox.stats()).depth === 0, 'both jobs done', 30_000);
      expect(stack.emulator.leadCount('+79998000002')).toBe(1);
      const missed = stack.emulator.calls.find((c) => c.PHONE_NUMBER === '+79998000002');
      expect(missed).toMatchObject({ CRM_ENTITY_TYPE: 'LEAD', finished: { STATUS_CODE: '304' } });
    } finally {
      await stack.stop();
    }
  });
});

describe('reads never wait for writes', () => {
  it('with lead creation slow on the portal, known callers are still found and routed (their searches go apart)', async () => {
    const stack = await startStack({ mode: 'app', env: { LOOKUP_DEADLINE_MS: '4000', B24_REQUEST_TIMEOUT_MS: '30000', LOOKUP_CACHE_TTL_S: '0' } });
    try {
      stack.emulator.switches.methodLatencyMs.set('crm.lead.add', 20_000); // the portal takes 20 s to add a lead
      const known = ['89123456789', '79037778899', '89152223344'];
      const answers = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          await new Promise((r) => setTimeout(r, i * 50)); // callers arriving (pacing the input, not waiting for an outcome)
          const ani = i % 2 ? known[i % known.length]! : `+7 999 6${String(i).padStart(6, '0')}`;
          return { known: i % 2 === 1, a: await uccxLookup(stack.url, { ani, token }) };
        }),
      );
      const knownAnswers = answers.filter((x) => x.known).map((x) => x.a.fields.status);
      expect(knownAnswers).toEqual(Array(15).fill('found'));
      // The slow writes were under way meanwhile: sent, and not done yet.
      expect(stack.connector.writer.counters.commands).toBeGreaterThan(0);
      expect((await stack.connector.outbox.stats()).depth).toBeGreaterThan(0);
      stack.emulator.switches.methodLatencyMs.clear();
    } finally {
      stack.emulator.release();
      await stack.stop();
    }
  });
});

describe('the portal limits', () => {
  let stack: Stack;
  afterEach(() => stack?.stop());

  it('a burst of 120 distinct unknown callers causes no 503 and every lookup answers in time', async () => {
    stack = await startStack({ mode: 'app', env: { LOOKUP_CACHE_TTL_S: '0' } });
    const answers = await Promise.all(Array.from({ length: 120 }, (_, i) => uccxLookup(stack.url, { ani: `+7 999 3${String(i).padStart(6, '0')}`, token })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(stack.emulator.counters.rejected503).toBe(0);
    await until(async () => (await stack.connector.outbox.stats()).depth === 0, 'all leads', 30000);
    expect(stack.emulator.counters.rejected503).toBe(0);
    expect(stack.emulator.leadCount()).toBe(2 + 120);
    // Far fewer HTTP requests than calls: the burst went out in batches.
    expect(stack.connector.client.counters.requests * 5).toBeLessThan(stack.connector.client.counters.commands);
  });

  it('an expired access token is refreshed once, and the rotated tokens are kept', async () => {
    stack = await startStack({ mode: 'app' });
    stack.emulator.expireAccessTokens();
    const answers = await Promise.all(['89123456789', '84951112233', '79160001122'].map((ani) => uccxLookup(stack.url, { ani, token })));
    expect(answers.map((a) => `${a.fields.status} ${a.fields.reason ?? ''}`.trim())).toEqual(['found', 'found', 'found']);
    expect(stack.emulator.counters.refreshes).toBe(1);
    const saved = (await stack.connector.store.getKv<{ accessToken: string }>('bitrix24.installation'))!;
    expect(stack.connector.credentials.endpoint().auth).toBe(saved.accessToken);
  });

  it('five lookups in flight, each in its own request, all meet the expired token: one refresh serves them all, each answered found in its deadline', async () => {
    // A burst allowance that never paces these requests: each lookup leaves at once, in its own request, while the
    // others are still at the portal (under pacing they would share batches, and fewer would meet the old token).
    stack = await startStack({ mode: 'app', env: { LOOKUP_CACHE_TTL_S: '0', LOOKUP_DEADLINE_MS: '3000', B24_RATE_BURST: '250' } });
    await uccxLookup(stack.url, { ani: '89123456789', token }); // the users read: from here a lookup is one search request
    stack.emulator.expireAccessTokens();
    // Each request stays at the portal, unanswered, until all five are there: however slow the machine, every one
    // meets the old token (a time-based hold would let a refresh finish before a late lookup left).
    let open!: () => void;
    stack.emulator.switches.gate = new Promise<void>((r) => (open = r));
    const before = { refreshes: stack.emulator.counters.refreshes, expired: stack.emulator.counters.expiredTokens };
    const numbers = ['84951112233', '79160001122', '89001112233', '89152223344', '79037778899'];
    const answers: Array<Promise<Awaited<ReturnType<typeof uccxLookup>>>> = [];
    for (const ani of numbers) {
      const sent = stack.emulator.counters.httpRequests;
      answers.push(uccxLookup(stack.url, { ani, token }));
      await until(() => stack.emulator.counters.httpRequests > sent, `the lookup of ${ani} sent`);
    }
    stack.emulator.switches.gate = null;
    open();
    const got = await Promise.all(answers);
    expect(got.map((a) => `${a.fields.status} ${a.fields.reason ?? ''}`.trim())).toEqual(numbers.map(() => 'found'));
    expect(stack.emulator.counters.expiredTokens - before.expired).toBe(5); // every one met the old token
    expect(stack.emulator.counters.refreshes - before.refreshes).toBe(1);
  });

  it('answers degraded (not 5xx) when the application is not installed, and says why in /readyz', async () => {
    const emulator = new Bitrix24Emulator();
    await emulator.start();
    const c = new Connector(parseConfig(middlewareEnv(emulator, 'app', mkdtempSync(join(tmpdir(), 'fb24-')))));
    await c.listen(0, '127.0.0.1');
    try {
      const a = await uccxLookup(c.url, { ani: '89123456789', token });
      expect(a.fields).toMatchObject({ status: 'degraded', reason: 'bitrix24_not_installed', route: 'queue' });
      const ready = await fetch(`${c.url}/readyz`, { headers: { authorization: `Bearer ${token}` } });
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ready: false, checks: { bitrix24: { ok: false, reason: expect.stringContaining('not installed') } } });
    } finally {
      await c.stop(200);
      await emulator.stop();
    }
  });
});

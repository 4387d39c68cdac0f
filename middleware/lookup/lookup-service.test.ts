import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bitrix24Emulator } from '../../scripts/lab/bitrix24-emulator/server';
import { LAB_UCCX_TOKEN, middlewareEnv, startStack, type Stack } from '../../scripts/lab/lab-stack';
import { parseConfig } from '../config';
import { Connector } from '../connector';
import { logSink } from '../../testing/log-sink';
import { uccxLookup } from '../../testing/lookup-client';
import { LOG_MISSED_CALL, missedKey } from '../missed/missed-call-log';
import { NodeProcess, processAlive } from '../../testing/node-process';
import { freePort } from '../../testing/process-group';
import { waitFor } from '../../testing/wait';

const token = LAB_UCCX_TOKEN;
/** waitFor with the condition first: the bound defaults to a minute (processes start and stop here). */
const until = (cond: () => boolean | Promise<boolean>, what: string, ms = 60_000) => waitFor(async () => (await cond()) || null, ms, what).then(() => undefined);

/** A Bitrix24 emulator and the settings of a middleware process against it (webhook mode, a data folder, a port). */
async function processSetup(prefix: string, extra: Record<string, string> = {}) {
  const emulator = new Bitrix24Emulator();
  await emulator.start();
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const env = middlewareEnv(emulator, 'webhook', dataDir, extra);
  const port = await freePort();
  return { emulator, dataDir, env, port, url: `http://127.0.0.1:${port}` };
}

/** The middleware as its own process (`npm run middleware`), as in production: the test harness's load stays out of it. */
function startMiddleware(env: Record<string, string>, port: number): NodeProcess {
  return new NodeProcess('middleware/main.ts', { ...env, PORT: String(port) });
}

/**
 * Resolves once the middleware at `url` answers /healthz; fails at once if its process exits first (a port taken,
 * a bad setting). The bound is a hang guard only: a process starting on a loaded machine takes long, never forever.
 */
async function ready(url: string, proc: NodeProcess): Promise<void> {
  let exited = false;
  void proc.exited.then(() => (exited = true));
  await until(
    async () => {
      if (exited) throw new Error(`the middleware process exited before serving ${url}`);
      return (await fetch(`${url}/healthz`).catch(() => null))?.ok === true;
    },
    'middleware to start',
    90_000,
  );
}

/** Outbox depth as the middleware reports it on /metrics. */
async function outboxDepth(url: string): Promise<number> {
  return Number(/^outbox_depth (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? NaN);
}

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
    stack.emulator.switches.latencyMs = 300; // each request stays in flight while the next one leaves
    const before = { refreshes: stack.emulator.counters.refreshes, expired: stack.emulator.counters.expiredTokens };
    const numbers = ['84951112233', '79160001122', '89001112233', '89152223344', '79037778899'];
    const answers: Array<Promise<Awaited<ReturnType<typeof uccxLookup>>>> = [];
    for (const ani of numbers) {
      const sent = stack.emulator.counters.httpRequests;
      answers.push(uccxLookup(stack.url, { ani, token }));
      await until(() => stack.emulator.counters.httpRequests > sent, `the lookup of ${ani} sent`);
    }
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

describe('operations', () => {
  it('health, readiness and metrics', async () => {
    const stack = await startStack({ mode: 'webhook' });
    try {
      await uccxLookup(stack.url, { ani: '89123456789', token });
      expect(await (await fetch(`${stack.url}/healthz`)).json()).toEqual({ ok: true });
      const ready = await fetch(`${stack.url}/readyz`, { headers: { authorization: `Bearer ${token}` } });
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ ready: true, checks: { store: { ok: true }, bitrix24: { ok: true, mode: 'webhook' }, outbox: { ok: true, depth: 0 } } });
      const metrics = await (await fetch(`${stack.url}/metrics`)).text();
      expect(metrics).toMatch(/lookup_duration_seconds_bucket\{le="0.005",status="found",cached="false"\} \d/);
      expect(metrics).toMatch(/bitrix24_calls_total\{method="crm.duplicate.findbycomm",outcome="ok"\} [1-9]/);
      expect(metrics).toMatch(/outbox_depth 0/);
      stack.emulator.switches.outage = 'error';
      await stack.connector.stop(100).catch(() => undefined);
    } finally {
      await stack.emulator.stop();
    }
  });

  it('secrets never reach the logs', async () => {
    const sink = logSink();
    const stack = await startStack({ mode: 'app', logDestination: sink.stream, env: { LOG_LEVEL: 'debug', LOOKUP_DEADLINE_MS: '300', B24_REQUEST_TIMEOUT_MS: '400' } });
    const inst = (await stack.connector.store.getKv<{ accessToken: string; refreshToken: string; applicationToken: string }>('bitrix24.installation'))!;
    stack.emulator.expireAccessTokens();
    await uccxLookup(stack.url, { ani: '89123456789', token });
    await uccxLookup(stack.url, { ani: '89123456789', token: 'wrong-token' });
    stack.emulator.switches.outage = 'hang';
    await uccxLookup(stack.url, { ani: '89990000077', token }); // answered degraded at the deadline: logged
    stack.emulator.switches.outage = 'none';
    stack.emulator.release();
    await stack.stop();
    const log = sink.lines.join('');
    expect(log).toContain('lookup degraded');
    expect(log).toContain('Bitrix24 access token refreshed');
    for (const secret of [LAB_UCCX_TOKEN, stack.emulator.app.clientSecret, inst.accessToken, inst.refreshToken, inst.applicationToken]) {
      expect(log).not.toContain(secret);
    }
  });
});

describe('/readyz for anyone and for operators', () => {
  it('tells anyone only whether it is ready; a flood of calls makes one probe and cannot flap it', async () => {
    const stack = await startStack({ mode: 'app' });
    try {
      const before = stack.emulator.counters.httpRequests;
      const flood = await Promise.all(Array.from({ length: 500 }, () => fetch(`${stack.url}/readyz`).then(async (r) => [r.status, await r.json()] as const)));
      expect(flood.every(([status, body]) => status === 200 && JSON.stringify(body) === '{"ready":true}')).toBe(true);
      expect(stack.emulator.counters.httpRequests - before).toBe(1); // one probe of Bitrix24 for all of them
      const detailed = await (await fetch(`${stack.url}/readyz`, { headers: { authorization: `Bearer ${token}` } })).json();
      expect(detailed).toMatchObject({ ready: true, checks: { bitrix24: { ok: true } } });
      expect(await (await fetch(`${stack.url}/readyz`, { headers: { authorization: 'Bearer wrong-token' } })).json()).toEqual({ ready: true });
    } finally {
      await stack.stop();
    }
  });

  it('behind a proxy (TRUST_PROXY=1) the client is the address the proxy appended, not one the client wrote', async () => {
    const stack = await startStack({ mode: 'webhook', env: { TRUST_PROXY: '1', UCCX_ALLOWED_IPS: '10.0.0.5' } });
    try {
      const as = (xff: string) => fetch(`${stack.url}/uccx/lookup?ani=89123456789&token=${token}`, { headers: { 'x-forwarded-for': xff } });
      expect((await as('10.0.0.5, 192.0.2.77')).status).toBe(403); // the client claimed the allowed address; the proxy saw 192.0.2.77
      expect((await as('192.0.2.77, 10.0.0.5')).status).toBe(200);
    } finally {
      await stack.stop();
    }
  });
});

describe('crash safety', () => {
  let child: NodeProcess | null = null;
  afterEach(async () => {
    await child?.stop();
    child = null;
  });

  it('a pending lead survives kill -9 and is delivered exactly once after restart', async () => {
    const { emulator, env, port, url } = await processSetup('fb24-crash-', { LOOKUP_DEADLINE_MS: '500', B24_REQUEST_TIMEOUT_MS: '800' });
    try {
      emulator.switches.outage = 'error';
      child = startMiddleware(env, port);
      await ready(url, child!);
      const a = await uccxLookup(url, { ani: '89994000004', callId: 'crash-1', token });
      expect(a.fields.status).toBe('degraded');
      const first = child.pid;
      child.signal('SIGKILL');
      expect((await child.exited).signal).toBe('SIGKILL');
      // The first instance is really gone: no process, nothing listening on its port.
      expect(processAlive(first)).toBe(false);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      expect(emulator.leadCount('+79994000004')).toBe(0);

      emulator.switches.outage = 'none';
      child = startMiddleware(env, port);
      await ready(url, child!);
      expect(child.pid).not.toBe(first);
      await until(() => emulator.leadCount('+79994000004') === 1, 'the lead after restart');
      // The job is done once the outbox is empty: nothing can send the lead again after that.
      await until(async () => (await outboxDepth(url)) === 0, 'the outbox to drain');
      expect(emulator.leadCount('+79994000004')).toBe(1);
      expect(emulator.portal.leadsWithPhone('+79994000004')[0]).toMatchObject({ ORIGIN_ID: 'crash-1', ASSIGNED_BY_ID: 9 });
    } finally {
      await emulator.stop();
    }
  });

  it('kill -9 while a lead creation is in flight: after the restart it is waited for and found, never sent twice', async () => {
    const { emulator, env, port, url } = await processSetup('fb24-crash-', { LOOKUP_DEADLINE_MS: '500', B24_REQUEST_TIMEOUT_MS: '10000', B24_WRITE_SETTLE_MS: '4000' });
    try {
      emulator.switches.methodLatencyMs.set('crm.lead.add', 2000);
      child = startMiddleware(env, port);
      await ready(url, child!);
      await uccxLookup(url, { ani: '89998000003', callId: 'crash-2', token });
      await until(() => (emulator.counters.received['crm.lead.add'] ?? 0) > 0, 'the lead creation to reach Bitrix24');
      child.signal('SIGKILL'); // the answer never comes back to us; the portal goes on creating it
      await child.exited;
      child = startMiddleware(env, port);
      await ready(url, child!);
      await until(async () => (await outboxDepth(url)) === 0, 'the lead job to settle after the restart', 30_000);
      expect(emulator.leadCount('+79998000003')).toBe(1);
      expect(emulator.counters.received['crm.lead.add']).toBe(1);
    } finally {
      await emulator.stop();
    }
  });

  it("another process holding the store's write lock never stalls lookups; the leads follow once it lets go", async () => {
    const { emulator, dataDir, env, port, url } = await processSetup('fb24-lock-', { LOOKUP_DEADLINE_MS: '1500' });
    const locker = new Database(join(dataDir, 'connector.db'));
    try {
      child = startMiddleware(env, port);
      await ready(url, child!);
      await uccxLookup(url, { ani: '89123456789', token }); // a known caller, now cached
      locker.exec("BEGIN IMMEDIATE; INSERT INTO kv (key, value, updated_at) VALUES ('lab.lock', '1', 0)"); // held, not committed
      const times: number[] = [];
      const answers = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const t0 = performance.now();
          const a = await uccxLookup(url, { ani: i % 2 ? '89123456789' : `+7 999 810-${String(i).padStart(4, '0')}`, token });
          times.push(performance.now() - t0);
          return a;
        }),
      );
      // A synchronous 2 s wait per locked write froze every lookup for seconds (10 lead jobs: 20 s). Now each
      // answers without waiting for the lock: far below that, whatever the machine's load.
      expect(answers.every((a) => a.status === 200)).toBe(true);
      expect(Math.max(...times)).toBeLessThan(5000);
      expect(answers.filter((_, i) => i % 2).every((a) => a.fields.status === 'found')).toBe(true);
      locker.exec('ROLLBACK');
      await until(() => emulator.leadCount() === 2 + 10, 'the ten leads after the lock is gone', 30_000);
    } finally {
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
      await emulator.stop();
    }
  });

  it('SIGTERM lets a request in flight finish before exiting', async () => {
    // Deadlines far above anything load can cause: this test is about SIGTERM, not about a slow machine.
    const { emulator, env, port, url } = await processSetup('fb24-term-', { LOOKUP_DEADLINE_MS: '20000', B24_REQUEST_TIMEOUT_MS: '20000' });
    try {
      child = startMiddleware(env, port);
      await ready(url, child!);
      emulator.switches.latencyMs = 400;
      const before = emulator.counters.httpRequests;
      const pending = uccxLookup(url, { ani: '89123456789', token });
      await until(() => emulator.counters.httpRequests > before, 'the lookup to reach Bitrix24'); // in flight now
      child.signal('SIGTERM');
      const a = await pending;
      expect(a.fields).toMatchObject({ status: 'found', extension: '1021' });
      expect((await child.exited).code).toBe(0);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      await emulator.stop();
    }
  });
});

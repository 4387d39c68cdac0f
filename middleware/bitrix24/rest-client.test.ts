import pino from 'pino';
import { Bitrix24Emulator } from '../../scripts/lab/bitrix24-emulator/server';
import { RestError } from '../../scripts/lab/bitrix24-emulator/portal';
import { WebhookCredentials } from './credentials';
import { AccessError, AuthError, Bitrix24Error, DeadlineError, OperatingLimitError, RateLimitError } from './errors';
import { LeakyBucket } from './leaky-bucket';
import { Bitrix24Client } from './rest-client';

describe('Bitrix24Client against the emulator', () => {
  let emulator: Bitrix24Emulator;
  let client: Bitrix24Client;
  const make = (url: string, rate = { perSecond: 2, burst: 50 }) =>
    new Bitrix24Client(new WebhookCredentials(url), new LeakyBucket(rate.perSecond, rate.burst), { requestTimeoutMs: 2000, log: pino({ level: 'silent' }) });

  beforeEach(async () => {
    emulator = new Bitrix24Emulator();
    await emulator.start();
    client = make(emulator.webhookUrl);
  });
  afterEach(async () => {
    client.close();
    await emulator.stop();
  });

  it("OPERATION_TIME_LIMIT pauses only the method it names, until the portal's operating_reset_at; other methods go on", async () => {
    await client.call('crm.lead.list'); // an answer carries time.operating_reset_at: the method's next reset
    emulator.switches.operatingLimited.add('crm.lead.list');
    await expect(client.call('crm.lead.list')).rejects.toBeInstanceOf(OperatingLimitError);
    const sent = emulator.counters.httpRequests;
    await expect(client.call('crm.lead.list')).rejects.toMatchObject({ code: 'OPERATION_TIME_LIMIT' }); // not even sent
    expect(emulator.counters.httpRequests).toBe(sent);
    await expect(client.call('server.time')).resolves.toEqual(expect.any(String)); // others go on
    // In a batch the limit comes for one command: only that method pauses.
    emulator.switches.operatingLimited.add('crm.contact.list');
    const [limited, fine] = await Promise.allSettled([client.call('crm.contact.list'), client.call('server.time')]);
    expect(limited).toMatchObject({ status: 'rejected', reason: expect.any(OperatingLimitError) });
    expect(fine.status).toBe('fulfilled');
  });

  it("a 503 from the portal (a neighbour filled its bucket) costs one slot of waiting, not the whole bucket's drain", async () => {
    const bucket = new LeakyBucket(2, 50);
    const c = new Bitrix24Client(new WebhookCredentials(emulator.webhookUrl), bucket, { requestTimeoutMs: 2000, log: pino({ level: 'silent' }) });
    emulator.switches.failNext.set('server.time', new RestError(503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests'));
    await expect(c.call('server.time')).rejects.toBeInstanceOf(RateLimitError);
    expect(bucket.delay()).toBeLessThanOrEqual(500); // the old client waited ~20 s here (bucket marked full)
    expect(bucket.delay()).toBeGreaterThan(0);
    await expect(c.call('server.time')).resolves.toEqual(expect.any(String));
    c.close();
  });

  it("never batches a call with a deadline with one without: a slow lead does not hold a caller's search", async () => {
    emulator.switches.methodLatencyMs.set('crm.lead.add', 4000);
    const c = new Bitrix24Client(new WebhookCredentials(emulator.webhookUrl), new LeakyBucket(2, 50), { requestTimeoutMs: 10_000, log: pino({ level: 'silent' }) });
    try {
      const lead = c.call('crm.lead.add', { fields: { TITLE: 'slow' } }); // no deadline: a write
      // Batched with the lead, the searches would end with their deadline (DeadlineError) before the lead's 4 s.
      const deadline = () => ({ signal: AbortSignal.timeout(3000) });
      await Promise.all([c.call('crm.duplicate.findbycomm', { type: 'PHONE', values: ['79123456789'] }, deadline()), c.call('user.get', { FILTER: { ID: 5 } }, deadline())]);
      await lead;
      expect(emulator.counters.httpRequests).toBe(2); // the two searches together, the lead on its own
    } finally {
      c.close();
    }
  });

  it('sends concurrent calls as one batch and hands each caller its own result or error', async () => {
    const [user, contact, missing, none] = await Promise.allSettled([
      client.call('user.get', { FILTER: { ID: 5 } }),
      client.call('crm.contact.get', { id: 42 }),
      client.call('crm.lead.get', { id: 999999 }),
      client.call('crm.duplicate.findbycomm', { type: 'PHONE', values: ['70000000000'] }),
    ]);
    expect(emulator.counters.httpRequests).toBe(1);
    expect(client.counters).toMatchObject({ requests: 1, commands: 4, batches: 1 });
    expect(user).toMatchObject({ status: 'fulfilled', value: [{ ID: '5', UF_PHONE_INNER: '1021' }] });
    expect(contact).toMatchObject({ status: 'fulfilled', value: { ID: '42', ASSIGNED_BY_ID: '5' } });
    expect(missing.status).toBe('rejected');
    expect((missing as PromiseRejectedResult).reason).toBeInstanceOf(Bitrix24Error);
    expect((missing as PromiseRejectedResult).reason).toMatchObject({ code: '', description: 'Not found' });
    expect(none).toEqual({ status: 'fulfilled', value: [] });
  });

  it('keeps batches to 50 commands', async () => {
    await Promise.all(Array.from({ length: 120 }, () => client.call('server.time')));
    expect(client.counters.commands).toBe(120);
    expect(client.counters.requests).toBe(3);
  });

  it.each<[string, RestError, new (...a: never[]) => Bitrix24Error]>([
    ['503 QUERY_LIMIT_EXCEEDED', new RestError(503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests'), RateLimitError],
    ['429 OPERATION_TIME_LIMIT', new RestError(429, 'OPERATION_TIME_LIMIT', 'Method is blocked'), OperatingLimitError],
    ['401 expired_token', new RestError(401, 'expired_token', 'The access token provided has expired.'), AuthError],
    ['403 insufficient_scope', new RestError(403, 'insufficient_scope', 'The request requires higher privileges'), AccessError],
    ['403 WRONG_AUTH_TYPE', new RestError(403, 'WRONG_AUTH_TYPE', 'Current authorization type is denied'), AccessError],
    ['400 empty code', new RestError(400, '', 'Access denied.'), Bitrix24Error],
  ])('types %s', async (_name, error, Type) => {
    emulator.switches.failNext.set('server.time', error);
    const err = await client.call('server.time').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Type);
    expect(err).toMatchObject({ code: error.code, description: error.description });
    if (error.status !== 401) expect((err as Bitrix24Error).httpStatus).toBe(error.status);
  });

  it('a wrong webhook secret is an AuthError (NO_AUTH_FOUND)', async () => {
    const bad = make(emulator.webhookUrl.replace(emulator.webhook.secret, 'nope'));
    await expect(bad.call('server.time')).rejects.toMatchObject({ code: 'NO_AUTH_FOUND', httpStatus: 401 });
    bad.close();
  });

  it('rejects a call whose deadline passes while it waits, without sending it', async () => {
    const slow = make(emulator.webhookUrl, { perSecond: 1, burst: 1 });
    await slow.call('server.time');
    const err = await slow.call('server.time', {}, { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineError);
    // Calls leave in order: once a later call went out, the expired one would have gone before it.
    await slow.call('server.time');
    expect(emulator.counters.calls['server.time']).toBe(2);
    slow.close();
  });

  it('never overflows the portal bucket under a sustained burst', async () => {
    emulator.setRate({ perSecond: 2, burst: 5 });
    const tight = make(emulator.webhookUrl, { perSecond: 2, burst: 5 });
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      calls.push(tight.call('server.time'));
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(calls);
    expect(emulator.counters.rejected503).toBe(0);
    tight.close();
  });
});

import { indexForm } from './portal';
import { Bitrix24Emulator } from './server';

/** The emulator against Bitrix24's REST documentation (b24restdocs) and conformance/bitrix24: what the product relies on must be what Bitrix24 does. */
describe('Bitrix24 emulator contract', () => {
  let e: Bitrix24Emulator;
  beforeEach(async () => {
    e = new Bitrix24Emulator();
    await e.start();
  });
  afterEach(() => e.stop());

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${e.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const hook = (method: string, body: unknown = {}) => post(`/rest/${e.webhook.userId}/${e.webhook.secret}/${method}.json`, body);

  it('wraps results in the envelope with `time`', async () => {
    const r = await hook('server.time');
    expect(r.status).toBe(200);
    expect(Object.keys(r.body.time)).toEqual(['start', 'finish', 'duration', 'processing', 'date_start', 'date_finish', 'operating_reset_at', 'operating']);
  });

  it('accepts form-encoded nested parameters and the method without .json', async () => {
    const res = await fetch(`${e.url}/rest/${e.webhook.userId}/${e.webhook.secret}/crm.duplicate.findbycomm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'type=PHONE&values[0]=%2B7%20912%20345-67-89&entity_type=CONTACT',
    });
    expect((await res.json()).result).toEqual({ CONTACT: [42] });
  });

  it('findbycomm: [] on no match, only matching keys otherwise, normalised like the duplicate index', async () => {
    expect((await hook('crm.duplicate.findbycomm', { type: 'PHONE', values: ['70000000000'] })).body.result).toEqual([]);
    expect((await hook('crm.duplicate.findbycomm', { type: 'PHONE', values: ['89037778899'] })).body.result).toEqual({ CONTACT: [45], LEAD: [311] });
    const err = await hook('crm.duplicate.findbycomm', { values: ['1'] });
    expect(err).toEqual({ status: 400, body: { error: '', error_description: 'Communication type is not defined.' } });
    expect([indexForm('+7 (912) 345-67-89'), indexForm('8 912 345 67 89'), indexForm('9123456789')]).toEqual(['79123456789', '79123456789', '9123456789']);
  });

  it('searchCrmEntities orders contacts, leads, companies with the responsible', async () => {
    const { accessToken } = e.issueTokens();
    const r = await post('/rest/telephony.externalCall.searchCrmEntities.json', { auth: accessToken, PHONE_NUMBER: '+79037778899' });
    expect(r.body.result.map((x: any) => `${x.CRM_ENTITY_TYPE}:${x.CRM_ENTITY_ID}`)).toEqual(['CONTACT:45', 'LEAD:311']);
    expect(r.body.result[0].ASSIGNED_BY).toMatchObject({ ID: 6, USER_PHONE_INNER: '1022' });
  });

  it('rate limit: the 51st request of a burst gets the exact 503 body', async () => {
    const instant = Date.now();
    e.clock = () => instant; // all 51 in one instant: nothing drains between them, however slow the machine
    const results = [];
    for (let i = 0; i < 51; i++) results.push(await hook('server.time'));
    e.clock = Date.now;
    expect(results.slice(0, 50).every((r) => r.status === 200)).toBe(true);
    expect(results[50]).toEqual({ status: 503, body: { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' } });
  });

  it('batch: results and errors per command, empty sections as [], no nesting, at most 50', async () => {
    const r = await hook('batch', { halt: 0, cmd: { a: 'user.get?FILTER[ID]=5', b: 'crm.lead.get?id=1', c: 'batch?cmd[x]=server.time' } });
    expect(r.body.result.result.a[0].ID).toBe('5');
    expect(r.body.result.result_error.b).toEqual({ error: '', error_description: 'Not found' });
    expect(r.body.result.result_error.c.error).toBe('ERROR_BATCH_METHOD_NOT_ALLOWED');
    expect(r.body.result.result_total).toEqual([]);
    const ok = await hook('batch', { cmd: { a: 'server.time' } });
    expect(ok.body.result.result_error).toEqual([]);
    const cmd = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`c${i}`, 'server.time']));
    expect((await hook('batch', { cmd })).body.error).toBe('ERROR_BATCH_LENGTH_EXCEEDED');
  });

  it('auth: wrong webhook, unknown and expired tokens, app-only methods', async () => {
    expect((await post('/rest/1/wrong/server.time.json', {})).body).toEqual({ error: 'NO_AUTH_FOUND', error_description: 'Wrong authorization data' });
    const { accessToken } = e.issueTokens();
    e.expireAccessTokens();
    const expired = await post('/rest/server.time.json', { auth: accessToken });
    expect(expired).toEqual({ status: 401, body: { error: 'expired_token', error_description: 'The access token provided has expired.' } });
    expect((await hook('app.info')).body.error).toBe('ACCESS_DENIED');
  });

  it('oauth: refresh rotates the refresh token; reusing the old one is invalid_grant', async () => {
    const { refreshToken } = e.issueTokens();
    const q = (rt: string) => fetch(`${e.url}/oauth/token/?${new URLSearchParams({ grant_type: 'refresh_token', client_id: e.app.clientId, client_secret: e.app.clientSecret, refresh_token: rt })}`);
    const first = await q(refreshToken);
    const body = (await first.json()) as Record<string, string>;
    expect(first.status).toBe(200);
    expect(body.refresh_token).not.toBe(refreshToken);
    expect((await post('/rest/server.time.json', { auth: body.access_token })).status).toBe(200);
    const reused = await q(refreshToken);
    expect(reused.status).toBe(400);
    expect(await reused.json()).toEqual({ error: 'invalid_grant', error_description: 'Invalid grant' });
  });

  it('crm.lead.add returns the new id as an integer and the card page shows the lead', async () => {
    const r = await hook('crm.lead.add', { fields: { TITLE: 'T', PHONE: [{ VALUE: '+79990001122', VALUE_TYPE: 'WORK' }], ASSIGNED_BY_ID: 9 } });
    expect(typeof r.body.result).toBe('number');
    const page = await fetch(`${e.url}/crm/lead/details/${r.body.result}/`);
    expect(await page.text()).toContain(`data-entity="LEAD:${r.body.result}"`);
  });

  it('telephony for a click-to-dial application: event.bind only in app context, lines, notifications, USER_PHONE_INNER', async () => {
    expect(await hook('event.bind', { event: 'ONEXTERNALCALLSTART', handler: 'http://mw/bitrix/events' })).toMatchObject({ status: 401, body: { error: 'ACCESS_DENIED' } });
    const { accessToken } = e.issueTokens();
    const app = (method: string, body: Record<string, unknown> = {}) => post(`/rest/${method}.json`, { ...body, auth: accessToken });
    expect((await app('event.bind', { event: 'ONEXTERNALCALLSTART', handler: 'http://127.0.0.1:1/bitrix/events' })).body.result).toBe(true);
    expect((await app('event.bind', { event: 'ONEXTERNALCALLSTART', handler: 'http://127.0.0.1:1/bitrix/events' })).body.error_description).toBe('Handler already binded');
    expect((await app('event.bind', { event: 'ONNOTHING', handler: 'http://x/' })).body.error).toBe('ERROR_EVENT_NOT_FOUND');
    expect((await app('telephony.externalLine.add', { NUMBER: 'finesse', NAME: 'Cisco Finesse' })).body.result).toEqual({ ID: 1 });
    expect((await app('telephony.externalLine.add', { NUMBER: 'finesse' })).body.error_description).toBe('Line already exists');
    expect((await app('telephony.externalLine.get')).body.result).toEqual([{ NUMBER: 'finesse', NAME: 'Cisco Finesse', CRM_AUTO_CREATE: 'Y' }]);
    expect((await app('im.notify.system.add', { USER_ID: 5, MESSAGE: 'hello' })).body.result).toBe(1);
    const reg = await app('telephony.externalCall.register', { USER_PHONE_INNER: '1021', PHONE_NUMBER: '+79123456789', TYPE: 2, LINE_NUMBER: 'finesse' });
    expect(e.calls[0]).toMatchObject({ CALL_ID: reg.body.result.CALL_ID, USER_ID: 5, LINE_NUMBER: 'finesse' });
    // A click: Bitrix24 registers the call itself and delivers the event form-encoded to the bound handler (which is down here).
    const call = await e.clickToCall(5, '8 912 345-67-89', { type: 'CONTACT', id: 42 });
    expect(call).toMatchObject({ origin: 'click', TYPE: 1, USER_ID: 5 });
    expect(e.deliveries).toEqual([{ event: 'ONEXTERNALCALLSTART', handler: 'http://127.0.0.1:1/bitrix/events', status: 0, at: expect.any(Number) }]);
    const form = new URLSearchParams(e.eventForm('ONEXTERNALCALLSTART', { CALL_ID: call.CALL_ID }));
    expect([form.get('data[CALL_ID]'), form.get('auth[member_id]'), form.get('auth[application_token]')]).toEqual([call.CALL_ID, e.memberId, e.applicationToken]);
  });
});
